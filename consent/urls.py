from django.urls import path

from . import views

app_name = "consent"

urlpatterns = [
    path("", views.choices, name="choices"),
    path("history/", views.history, name="history"),
    path("receipts/<uuid:receipt_id>.json", views.receipt_download, name="receipt"),
    path("<slug:code>/", views.choice_change, name="change"),
]
