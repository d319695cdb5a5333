from django.urls import path

from . import views

app_name = "transfers"

urlpatterns = [
    path("", views.transfer_list, name="list"),
    path("<uuid:public_id>/", views.transfer_detail, name="detail"),
    path("<uuid:public_id>/object/", views.transfer_object, name="object"),
    path("<uuid:public_id>/consent/", views.transfer_consent, name="consent"),
]
