"""The public consent log under /transparency/log/ (no login)."""

from django.urls import path

from . import pages, views

app_name = "consent_log"

urlpatterns = [
    path("checkpoint", views.CheckpointView.as_view(), name="checkpoint"),
    path("key", views.KeyView.as_view(), name="key"),
    path("checkpoints", views.CheckpointBySizeView.as_view(), name="checkpoints"),
    path("proof/inclusion", views.InclusionProofView.as_view(), name="inclusion"),
    path("proof/consistency", views.ConsistencyProofView.as_view(), name="consistency"),
    path("verify_receipt.py", views.verifier_source, name="verifier"),
    path("", pages.log_page, name="about"),  # the explanation page, for people
]
