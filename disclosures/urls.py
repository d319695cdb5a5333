"""The public transparency report: /transparency/ and /transparency/report.csv (no login)."""

from django.urls import path

from . import views

app_name = "transparency"

urlpatterns = [
    path("", views.transparency_page, name="report"),
    path("report.csv", views.transparency_csv, name="csv"),
]
