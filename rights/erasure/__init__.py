"""Erasure of a client's personal data: the request and its grace period (services), what is wiped and how
(anonymise), and what the client is told (emails)."""

from .anonymise import ERASED_NAME, erased_email
from .services import erasure_cancel, erasure_perform, erasure_request, erasures_perform_due, scheduled_erasure_of

__all__ = ["ERASED_NAME", "erased_email", "erasure_cancel", "erasure_perform", "erasure_request", "erasures_perform_due",
           "scheduled_erasure_of"]
