"""Bad input never breaks a form (issue #10): every public and client form, fed generated values through Django's test
client — text with any unicode and control characters (NUL included), very long strings, numbers as text, empty
values, missing fields and several values for one field.

For any input: never a 5xx; either a redirect (it was accepted) or the form again (400, or 429 when rate-limited)
with each error next to a field the form has (or above it) and its message on the page; and nothing half-written
when the form was refused (no user, request, address or correction appears). Each example runs in a savepoint that
is rolled back, so one example's success does not change the next one's starting point.
"""

import itertools
from contextlib import contextmanager

import pytest
from django.contrib.messages import get_messages
from django.db import transaction
from django.utils.html import escape
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from accounts.models import Address, Client, EmailChangeRequest, PendingSignup, User
from accounts.services import address_add
from consent.models import ConsentEvent
from rights.models import DataExport, DataSubjectRequest, Rectification
from tests.accounts.signup_links import OF_AGE, signup_link_path
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

EXAMPLES = 40
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.large_base_example, HealthCheck.data_too_large])

_addresses = itertools.count(1)

# Any value a browser, a script or an attacker may send for one field.
anything = st.one_of(
    st.text(max_size=40),                                                     # any unicode, control characters too
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=10),        # control characters only, NUL included
    st.integers(min_value=200, max_value=12_000).map(lambda n: "é" * n),      # far beyond every max_length
    st.integers().map(str), st.floats(allow_nan=True).map(str),              # numbers as text
    st.just(""), st.just(" "),
    st.lists(st.text(max_size=10), min_size=2, max_size=3),                  # one field sent several times
)


def field_values(plausible: dict) -> st.SearchStrategy:
    """Every field optional (a missing field), each either anything or a plausible value (so that the rest of the
    form's validation and the success path are reached too)."""
    return st.fixed_dictionaries({}, optional={
        name: st.one_of(anything, st.sampled_from(values)) for name, values in plausible.items()})


def fresh_ip() -> str:
    """Another address per example: the per-IP limits (public form, failed logins) are tested elsewhere."""
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def post(browser, url, data):
    """POST `data`, with one value or a list of values per field, through the test client (which encodes it as a
    browser would: multipart form data)."""
    return browser.post(url, data, REMOTE_ADDR=fresh_ip())


def assert_answered(response, *, refused_statuses=(400, 429)) -> bool:
    """Never a 5xx. Returns True for a redirect (accepted); otherwise the form must come back naming what is wrong."""
    assert response.status_code < 500, response.status_code
    if response.status_code in (301, 302, 303):
        return True
    assert response.status_code in refused_statuses, response.status_code
    form = response.context["form"]
    assert form.errors, "the form was refused but says nothing"
    page = response.content.decode()
    for field, messages in form.errors.items():
        assert field == "__all__" or field in form.fields, field
        for message in messages:
            assert message.strip(), f"an empty error for {field}"
            assert escape(message) in page, f"the error for {field} is not shown: {message!r}"
    return False


SIGNUP = {
    "full_name": ["Ada Lovelace", "李小龍"], "email": ["ada@example.com", "new.person@example.org"],
    "phone": ["", "+49 151 23456789", "+86 138 0013 8000"], "country": ["DE", "CN", "US", "XX"],
    "preferred_language": ["en", "zh-hans", "de"], "password1": [PASSWORD], "password2": [PASSWORD],
}


@FUZZ
@given(data=field_values(SIGNUP))
@example(data={name: values[0] for name, values in SIGNUP.items()})  # accepted, at least once
def test_sign_up_with_any_input_creates_a_user_only_when_it_succeeds(client, data):
    """Sign-up is confirm-first (issue #16.9): an accepted form creates a user once its e-mailed link is followed."""
    with rolled_back():
        before = (User.objects.count(), Client.objects.count(), ConsentEvent.objects.count())
        accepted = assert_answered(post(client, "/accounts/signup/", data))
        assert (User.objects.count(), Client.objects.count(), ConsentEvent.objects.count()) == before
        if accepted:
            assert PendingSignup.objects.count() == 1
            sent = {name: value[-1] if isinstance(value, list) else value for name, value in data.items()}  # as read
            assert_answered(client.post(signup_link_path(sent["email"].strip()), {"password": sent["password1"], **OF_AGE},
                                        REMOTE_ADDR=fresh_ip()))
            assert (User.objects.count(), Client.objects.count()) == (before[0] + 1, before[1] + 1)
        else:
            assert not PendingSignup.objects.exists()
        client.logout()


@FUZZ
@given(data=field_values({"username": ["owner@example.com", "OWNER@example.com"], "password": [PASSWORD, "wrong"]}))
def test_log_in_with_any_input_answers_with_a_message(client, owner, data):
    with rolled_back():
        assert_answered(post(client, "/accounts/login/", data), refused_statuses=(200,))
        client.logout()


@FUZZ
@given(data=field_values({"email": ["owner@example.com", "nobody@example.com"]}))
def test_password_reset_with_any_input_answers_with_a_message(client, owner, data):
    with rolled_back():
        assert_answered(post(client, "/accounts/password_reset/", data), refused_statuses=(200,))


PUBLIC_REQUEST = {"name": ["Ada Lovelace"], "email": ["ada@example.com"], "kind": list(DataSubjectRequest.Kind.values),
                  "details": ["", "My order 42"]}


@FUZZ
@given(data=field_values(PUBLIC_REQUEST))
@example(data={"name": "Ada Lovelace", "email": "ada@example.com", "kind": "access", "details": ""})
def test_the_public_request_form_with_any_input_writes_a_request_only_when_it_succeeds(client, data):
    with rolled_back():
        before = DataSubjectRequest.objects.count()
        accepted = assert_answered(post(client, "/requests/new/", data))
        assert DataSubjectRequest.objects.count() == before + accepted


# --- The logged-in client's forms ------------------------------------------------------------------------------------


@pytest.fixture
def logged_in(client, owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path  # an accepted export writes its file here
    client.force_login(owner.user)
    return client, owner


@FUZZ
@given(data=field_values({"subject": ["", "Where is my data?"], "body": ["Please tell me."]}))
@example(data={"subject": "", "body": "Please tell me."})
def test_the_question_form_with_any_input(logged_in, data):
    browser, owner = logged_in
    with rolled_back():
        before = DataSubjectRequest.objects.count()
        accepted = assert_answered(post(browser, "/portal/data/questions/new/", data))
        assert DataSubjectRequest.objects.count() == before + accepted


@FUZZ
@given(data=field_values({"full_name": ["Owner Client", "Owner Renamed"], "phone": ["", "+49 151 23456789"],
                          "password": [PASSWORD, "wrong"]}))
@example(data={"full_name": "Owner Renamed", "phone": "", "password": PASSWORD})
def test_rectification_with_any_input_changes_nothing_unless_accepted(logged_in, data):
    browser, owner = logged_in
    with rolled_back():
        before = (owner.full_name, owner.phone, Rectification.objects.count())
        if not assert_answered(post(browser, "/portal/data/correct/", data)):
            owner.refresh_from_db()
            assert (owner.full_name, owner.phone, Rectification.objects.count()) == before


ADDRESS = {"kind": list(Address.Kind.values), "line1": ["Hauptstr. 1"], "line2": [""], "city": ["Berlin"],
           "region": ["", "BE"], "postcode": ["10115", ""], "country": ["DE", "CN", "ZZ"], "password": [PASSWORD, "wrong"]}


@FUZZ
@given(data=field_values(ADDRESS))
@example(data={name: values[0] for name, values in ADDRESS.items()})
def test_adding_an_address_with_any_input_adds_one_only_when_accepted(logged_in, data):
    browser, owner = logged_in
    with rolled_back():
        before = Address.objects.filter(client=owner).count()
        accepted = assert_answered(post(browser, "/portal/data/correct/addresses/new/", data))
        assert Address.objects.filter(client=owner).count() == before + accepted


@pytest.fixture
def address(owner):
    return address_add(client=owner, kind=Address.Kind.RESIDENTIAL, country="DE", line1="Alte Str. 2", city="Hamburg",
                       postcode="20095")


@FUZZ
@given(data=field_values(ADDRESS))
@example(data={name: values[0] for name, values in ADDRESS.items()})
def test_editing_an_address_with_any_input_changes_it_only_when_accepted(logged_in, address, data):
    browser, owner = logged_in
    with rolled_back():
        before = Address.objects.filter(pk=address.pk).values().get()
        if not assert_answered(post(browser, f"/portal/data/correct/addresses/{address.pk}/", data)):
            assert Address.objects.filter(pk=address.pk).values().get() == before


@FUZZ
@given(data=field_values({"password": [PASSWORD, "wrong"]}))
@example(data={"password": PASSWORD})
def test_the_export_and_erasure_password_forms_with_any_input(logged_in, data):
    browser, owner = logged_in
    for url in ("/portal/data/export/", "/portal/data/erase/"):
        with rolled_back():
            before = (DataExport.objects.count(), DataSubjectRequest.objects.count())
            if not assert_answered(post(browser, url, data)):
                assert (DataExport.objects.count(), DataSubjectRequest.objects.count()) == before


@FUZZ
@given(code=st.sampled_from(["promotional-sharing", "marketing-messages", "identification"]),
       data=field_values({"action": ["grant", "withdraw"]}))
def test_a_consent_choice_with_any_input_changes_it_or_says_why_not(logged_in, code, data):
    browser, owner = logged_in
    with rolled_back():
        before = ConsentEvent.objects.filter(client=owner).count()
        response = post(browser, f"/portal/choices/{code}/", data)
        assert response.status_code == 302
        messages = [str(m) for m in get_messages(response.wsgi_request)]  # the last is this request's
        assert messages and messages[-1].strip()
        assert ConsentEvent.objects.filter(client=owner).count() in (before, before + 1)
        assert ConsentEvent.objects.filter(client=owner).count() == before or data.get("action") in ("grant", "withdraw")


@FUZZ
@given(data=field_values({"new_email": ["owner.new@example.org", "OWNER@example.com"], "password": [PASSWORD, "wrong"]}))
@example(data={"new_email": "owner.new@example.org", "password": PASSWORD})
def test_asking_for_a_new_email_address_with_any_input_asks_only_when_accepted_and_changes_no_address(logged_in, data):
    browser, owner = logged_in
    with rolled_back():
        before = EmailChangeRequest.objects.count()
        accepted = assert_answered(post(browser, "/portal/data/correct/email/", data))
        assert EmailChangeRequest.objects.count() == before + accepted
        owner.refresh_from_db()
        assert owner.email == "owner@example.com"  # only the link sent to the new address can change it
