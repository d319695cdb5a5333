"""PIPL Art. 55-56: a personal information protection impact assessment, approved by a second person, before a
purpose that processes sensitive data, decides automatically or sends data abroad starts, and before a recipient
(another handler, a processor, a recipient abroad) is given data.

The assessments are kept by `processing`, which sits above consent and sharing; it registers the check in its
AppConfig.ready(), and the services that start such processing (consent.services.purpose_save,
sharing.services.agreement_create and affiliate_save) ask it here. No check installed is an error, not a pass.
"""

from collections.abc import Callable

from django.core.exceptions import ValidationError

_registered: list[Callable] = []


def impact_assessment_check_register(check: Callable) -> None:
    """`check(*, purpose=None, recipient=None) -> str | None`: why starting it is refused, in the active language."""
    _registered[:] = [check]


def impact_assessment_refusal(*, purpose=None, recipient=None) -> str | None:
    if not _registered:
        raise LookupError("the impact assessments (processing) are not installed")
    return _registered[0](purpose=purpose, recipient=recipient)


def impact_assessment_require(*, purpose=None, recipient=None) -> None:
    """Raise ValidationError unless an approved, current assessment covers `purpose` and `recipient`."""
    refusal = impact_assessment_refusal(purpose=purpose, recipient=recipient)
    if refusal:
        raise ValidationError(refusal)
