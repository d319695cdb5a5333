import pytest
from django.core.exceptions import ValidationError

from accounts.phones import phone_to_e164


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+86 138 0013 8000", None, "+8613800138000"),
        ("138-0013-8000", "CN", "+8613800138000"),
        ("(415) 555-2671", "US", "+14155552671"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("+44 7400 123456", "FR", "+447400123456"),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw, region, e164):
    assert phone_to_e164(raw, default_region=region) == e164


@pytest.mark.parametrize(
    ("raw", "region", "reason"),
    [
        ("not a number", "CN", "not a phone number"),
        ("12345", None, "country code is missing"),
        ("+86 138", None, "too short"),
        ("+86 138 0013 8000 1234 5678", None, "too long"),
        ("+1 555 000 0000", None, "no such number exists"),
    ],
)
def test_bad_phone_number_error_says_why(raw, region, reason):
    with pytest.raises(ValidationError) as exc:
        phone_to_e164(raw, default_region=region)
    assert reason in exc.value.messages[0]
    assert raw in exc.value.messages[0]


def test_empty_phone_is_allowed_and_stays_empty():
    assert phone_to_e164("  ", default_region="CN") == ""
