from django.urls import path

from . import policy_views, views

app_name = "consent"

urlpatterns = [
    path("", views.choices, name="choices"),
    path("history/", views.history, name="history"),
    path("receipts/<uuid:receipt_id>.json", views.receipt_download, name="receipt"),
    path("policy/<str:label>/", policy_views.policy_answer, name="policy_answer"),
    path("<slug:code>/", views.choice_change, name="change"),
]
