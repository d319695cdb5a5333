"""The public policy pages (no login): /policy/, its history, each version and its Markdown, and the diff."""

from django.urls import path

from . import views

app_name = "policy"

urlpatterns = [
    path("", views.policy_current, name="current"),
    path("versions/", views.version_history, name="versions"),
    path("versions/<str:label>.md", views.version_markdown, name="markdown"),
    path("versions/<str:label>/", views.version_detail, name="version"),
    path("diff/", views.versions_diff, name="diff"),
]
