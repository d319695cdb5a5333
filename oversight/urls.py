from django.contrib import admin
from django.urls import path

from . import views

app_name = "oversight"

urlpatterns = [
    path("", admin.site.admin_view(views.dashboard_page), name="dashboard"),
    path("<slug:slug>.csv", admin.site.admin_view(views.panel_csv), name="panel_csv"),
]
