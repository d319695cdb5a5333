from django.contrib import admin
from django.urls import path

from . import views

app_name = "processing"

urlpatterns = [
    path("", admin.site.admin_view(views.record_page), name="record"),
    path("record-of-processing.<str:language>.<str:fmt>", admin.site.admin_view(views.record_file), name="record_file"),
]
