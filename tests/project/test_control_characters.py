"""Control characters never reach the database (issue #16.12): 400 for a URL or a header, a message next to a form
field; tabs and line breaks stay allowed where a person may type them. The fuzzing of every URL and form is in
tests/project/test_url_fuzzing.py."""

import importlib
import pkgutil

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.text_input import ControlCharactersValidator
from amendments.services import notice_period, policy_draft_save, policy_publish
from rights.models import DataSubjectRequest

pytestmark = pytest.mark.django_db

APPS = ("accounts", "amendments", "breaches", "consent", "disclosures", "notify", "oversight", "rights", "sharing", "fulfillmen")


@pytest.fixture
def published():
    return policy_publish(version=policy_draft_save(label="2026-01", body_en="# Policy", summary="First."),
                          now=timezone.now() - notice_period(material=False), effective_at=timezone.now())


@pytest.mark.parametrize("path", ["/policy/versions/2026%00-01/", "/policy/versions/2026%00-01.md",
                                  "/policy/versions/2026%1b-01/", "/policy/diff/?from=2026%00-01&to=x",
                                  "/policy/versions/2026-01/?lang=zh%00"])
def test_a_nul_or_escape_in_a_policy_url_is_refused_with_400(client, published, path):
    assert client.get(path).status_code == 400
    assert client.get("/policy/versions/2026-01/").status_code == 200  # the label itself is fine


def test_invalid_utf_8_in_a_path_or_query_is_just_a_page_that_does_not_exist(client, published):
    assert client.get("/policy/versions/%ff%fe/").status_code == 404
    assert client.get("/policy/versions/2026-01/?lang=%ff%fe").status_code == 200


def test_the_api_refuses_control_characters_in_its_own_error_shape(client):
    response = client.get("/api/v1/clients/?purpose=promo%00tional-sharing", HTTP_AUTHORIZATION="Bearer fpp_x")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_characters"


def test_an_admin_search_with_a_nul_byte_is_refused_with_400(client, privacy_officer):
    client.force_login(privacy_officer)
    assert client.get("/admin/accounts/client/?q=Owner%00").status_code == 400
    assert client.get(reverse("admin:autocomplete"), {"app_label": "accounts", "model_name": "address",
                                                      "field_name": "client", "term": "Own\x00er"}).status_code == 400
    assert client.get("/admin/accounts/client/?q=Owner").status_code == 200


def test_a_nul_in_a_request_header_is_refused_before_the_log_in_writes_it(client, owner):
    response = client.post(reverse("login"), {"username": "owner@example.com", "password": "wrong-password-1"},
                           HTTP_USER_AGENT="Mozilla/5.0\x00")
    assert response.status_code == 400


def test_a_control_character_in_a_form_field_is_a_message_next_to_it_and_nothing_is_written(client):
    response = client.post(reverse("rights:public_request_new"), {
        "name": "Ada\x1b[2J Lovelace", "email": "ada@example.com", "kind": "access", "details": "Hello\x07"})
    assert response.status_code == 400
    form = response.context["form"]
    message = str(ControlCharactersValidator.message)
    assert form.errors["name"] == [message] and form.errors["details"] == [message]
    assert message in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_the_message_is_in_chinese_for_a_chinese_page(client):
    response = client.post(reverse("rights:public_request_new"), {
        "name": "Ada\x1b Lovelace", "email": "ada@example.com", "kind": "access", "details": ""},
        HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "请删除此文本中的控制字符" in response.content.decode()


def test_tabs_and_line_breaks_a_person_types_are_still_accepted(client, owner):
    client.force_login(owner.user)
    response = client.post(reverse("rights:question_new"), {"subject": "My data",
                                                            "body": "First line\r\n\tindented second line"})
    assert response.status_code == 302
    assert DataSubjectRequest.objects.get(client=owner).details.endswith("\tindented second line")


def _project_form_classes():
    for app in APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if ".migrations" not in module.name and ".management" not in module.name:
                importlib.import_module(module.name)
    seen, pending = [], [forms.BaseForm]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.split(".")[0] in APPS:
            seen.append(cls)
    return seen


def test_every_text_field_of_every_project_form_refuses_control_characters():
    """The validator is installed before the form classes are built (in the settings), so no form escapes it."""
    classes = _project_form_classes()
    assert len(classes) > 20
    unguarded = []
    for cls in classes:
        for name, field in cls.base_fields.items():
            if isinstance(field, forms.CharField) and not isinstance(field, (forms.EmailField, forms.URLField,
                                                                             forms.SlugField, forms.RegexField)):
                if not any(isinstance(v, ControlCharactersValidator) for v in field.validators):
                    unguarded.append(f"{cls.__module__}.{cls.__name__}.{name}")
    assert not unguarded, unguarded
    with pytest.raises(ValidationError):
        forms.CharField().clean("a\x1bb")
    assert forms.CharField().clean("a\tb") == "a\tb"
