"""Phone numbers are stored in E.164 (`+8613800138000`), validated with Google's libphonenumber."""

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_PARSE_ERRORS = {
    phonenumbers.NumberParseException.INVALID_COUNTRY_CODE:
        "the country code is missing or unknown; start the number with + and the country code",
    phonenumbers.NumberParseException.NOT_A_NUMBER: "it is not a phone number",
    phonenumbers.NumberParseException.TOO_SHORT_AFTER_IDD: "it is too short after the international prefix",
    phonenumbers.NumberParseException.TOO_SHORT_NSN: "it is too short",
    phonenumbers.NumberParseException.TOO_LONG: "it is too long",
}
_POSSIBLE_ERRORS = {
    phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "the country code is unknown",
    phonenumbers.ValidationResult.TOO_SHORT: "it is too short",
    phonenumbers.ValidationResult.TOO_LONG: "it is too long",
    phonenumbers.ValidationResult.INVALID_LENGTH: "it has the wrong number of digits",
}


def phone_to_e164(raw: str, *, default_region: str | None = None) -> str:
    """The number in E.164, or a ValidationError that says why it is not a usable number.

    A number written without `+` is read as a national number of `default_region` (ISO 3166-1).
    """
    raw = (raw or "").strip()
    if not raw:
        return ""
    region = (default_region or "").upper() or None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        reason = _PARSE_ERRORS.get(exc.error_type, "it cannot be read")
        raise ValidationError(_("“%(value)s” is not a valid phone number: %(reason)s.") % {"value": raw, "reason": _(reason)},
                              code="invalid_phone") from exc
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible not in (phonenumbers.ValidationResult.IS_POSSIBLE, phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        reason = _POSSIBLE_ERRORS.get(possible, "it is not a possible number")
        raise ValidationError(_("“%(value)s” is not a valid phone number: %(reason)s.") % {"value": raw, "reason": _(reason)},
                              code="invalid_phone")
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_number(number) or _("any country")
        raise ValidationError(
            _("“%(value)s” is not a valid phone number: no such number exists in %(where)s.") % {"value": raw, "where": where},
            code="invalid_phone",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
