"""The affiliate API for webhook endpoints (issue #19): a recipient manages its own endpoints with its API key; the
secret is shown once (and on rotation) and signs what the real receiver gets; another recipient's endpoint, a deleted
one and a malformed id are the same 404; bad input and private addresses are 400 and write nothing."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.models import SharingAgreement
from sharing.services import affiliate_key_create
from tests.sharing.conftest import bearer, make_affiliate
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

from .helpers import verified

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhooks/endpoints/"
EVENT_TYPES = "/api/v1/webhooks/event-types/"
PUBLIC_URL = "https://93.184.215.14/hooks"  # a public address, written as one: checked without DNS, never called here
ITEM_KEYS = {"id", "url", "events", "enabled", "disabled_reason", "failures_in_row", "last_success_at", "created_at"}


@pytest.fixture
def recipient():
    affiliate = make_affiliate("Ads Network")
    return affiliate, affiliate_key_create(affiliate=affiliate)[1]


def create(client, key, url=PUBLIC_URL, events=("consent.withdrawn",), **extra):
    return client.post(ENDPOINTS, {"url": url, "events": list(events), **extra}, content_type="application/json",
                       **bearer(key))


def created(client, key, **kwargs) -> dict:
    response = create(client, key, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


def post(client, key, path):
    return client.post(path, content_type="application/json", **bearer(key))


def send_test_event(client, key, endpoint_id, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post(client, key, f"{ENDPOINTS}{endpoint_id}/test/")
    assert response.status_code == 202, response.content
    return response.json()["event_id"]


def test_a_new_endpoint_shows_its_secret_once_and_a_test_event_verifies_with_it_at_the_receiver(
        client, recipient, receiver, private_networks, django_capture_on_commit_callbacks):
    affiliate, key = recipient
    response = create(client, key, url=receiver.url, events=["client.erased", "consent.withdrawn"])

    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"] and "Authorization" in response["Vary"]
    body = response.json()
    assert set(body) == {"id", "url", "events", "secret"}
    assert body["secret"].startswith("whsec_") and body["url"] == receiver.url
    assert body["events"] == ["consent.withdrawn", "client.erased"]
    endpoint = WebhookEndpoint.objects.get(public_id=body["id"], affiliate=affiliate)
    assert body["secret"] not in endpoint.secret_encrypted

    event_id = send_test_event(client, key, body["id"], django_capture_on_commit_callbacks)

    [request] = receiver.received
    assert event_id.startswith("msg_") and request.webhook_id == event_id
    payload = verified(request, body["secret"])
    assert payload["type"] == "webhook.test" and payload["data"]["endpoint_id"] == body["id"]


def test_the_list_and_one_endpoint_show_its_health_and_never_a_secret(client, recipient):
    _affiliate, key = recipient
    first, second = created(client, key), created(client, key, events=["policy.amended"])

    listed = client.get(ENDPOINTS, **bearer(key))
    one = client.get(f"{ENDPOINTS}{first['id']}/", **bearer(key))

    assert listed.status_code == 200 and one.status_code == 200
    assert [item["id"] for item in listed.json()["results"]] == [first["id"], second["id"]]
    for item in [*listed.json()["results"], one.json()]:
        assert set(item) == ITEM_KEYS
    assert one.json() | {"created_at": None} == {
        "id": first["id"], "url": PUBLIC_URL, "events": ["consent.withdrawn"], "enabled": True, "disabled_reason": "",
        "failures_in_row": 0, "last_success_at": None, "created_at": None}
    for response in (listed, one):
        text = response.content.decode()
        assert first["secret"] not in text and second["secret"] not in text and "secret" not in text


def test_rotation_gives_a_new_secret_and_during_the_overlap_the_next_event_verifies_with_old_and_new(
        client, recipient, receiver, private_networks, django_capture_on_commit_callbacks):
    _affiliate, key = recipient
    endpoint = created(client, key, url=receiver.url)

    response = post(client, key, f"{ENDPOINTS}{endpoint['id']}/rotate/")

    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    rotated = response.json()
    assert set(rotated) == {"id", "secret", "previous_secret_valid_until"} and rotated["id"] == endpoint["id"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != endpoint["secret"]
    until = timezone.datetime.fromisoformat(rotated["previous_secret_valid_until"])
    assert abs(until - (timezone.now() + timedelta(hours=24))) < timedelta(minutes=1)

    send_test_event(client, key, endpoint["id"], django_capture_on_commit_callbacks)
    [request] = receiver.received
    assert verified(request, rotated["secret"]) == verified(request, endpoint["secret"])


def test_a_change_of_url_events_or_enabled_is_answered_with_the_endpoint_as_it_now_is(client, recipient):
    _affiliate, key = recipient
    endpoint = created(client, key)
    path = f"{ENDPOINTS}{endpoint['id']}/"

    changed = client.patch(path, {"url": "https://93.184.215.15/other", "events": ["agreement.changed"]},
                           content_type="application/json", **bearer(key))
    disabled = client.patch(path, {"enabled": False}, content_type="application/json", **bearer(key))

    assert changed.status_code == 200
    assert (changed.json()["url"], changed.json()["events"]) == ("https://93.184.215.15/other", ["agreement.changed"])
    assert disabled.status_code == 200
    assert (disabled.json()["enabled"], disabled.json()["disabled_reason"]) == (False, "Disabled by hand.")
    assert WebhookEndpoint.objects.get(public_id=endpoint["id"]).url == "https://93.184.215.15/other"
    refused = post(client, key, f"{path}test/")
    assert refused.status_code == 400 and set(refused.json()["error"]["fields"]) == {"enabled"}
    enabled = client.patch(path, {"enabled": True}, content_type="application/json", **bearer(key))
    assert (enabled.json()["enabled"], enabled.json()["disabled_reason"]) == (True, "")


def test_a_deleted_endpoint_is_gone_from_the_api_and_gets_nothing_more_but_its_log_stays(client, recipient):
    affiliate, key = recipient
    endpoint = created(client, key)
    assert post(client, key, f"{ENDPOINTS}{endpoint['id']}/test/").status_code == 202

    response = client.delete(f"{ENDPOINTS}{endpoint['id']}/", **bearer(key))

    assert response.status_code == 204 and response.content == b""
    assert client.get(f"{ENDPOINTS}{endpoint['id']}/", **bearer(key)).status_code == 404
    assert client.get(ENDPOINTS, **bearer(key)).json() == {"results": []}
    row = WebhookEndpoint.objects.get(public_id=endpoint["id"])
    assert row.deleted_at is not None and not row.enabled
    assert WebhookDelivery.objects.filter(endpoint=row).count() == 1


OPERATIONS = [
    ("get", ""),
    ("patch", ""),
    ("delete", ""),
    ("post", "rotate/"),
    ("post", "test/"),
]


def call(client, key, method, endpoint_id, suffix):
    path = f"{ENDPOINTS}{endpoint_id}/{suffix}"
    body = {"url": "https://93.184.215.16/mine", "enabled": False} if method == "patch" else None
    return getattr(client, method)(path, body, content_type="application/json", **bearer(key))


@pytest.mark.parametrize(("method", "suffix"), OPERATIONS)
def test_another_recipients_endpoint_is_the_same_404_as_none_and_is_left_as_it_was(client, recipient, method, suffix):
    _affiliate, key = recipient
    endpoint = created(client, key)
    before = WebhookEndpoint.objects.get(public_id=endpoint["id"])
    outsider = make_affiliate("Other Network")
    outsider_key = affiliate_key_create(affiliate=outsider)[1]
    deleted = created(client, outsider_key)
    assert client.delete(f"{ENDPOINTS}{deleted['id']}/", **bearer(outsider_key)).status_code == 204

    answers = [call(client, outsider_key, method, endpoint_id, suffix)
               for endpoint_id in (endpoint["id"], uuid.uuid4(), "not-an-id", endpoint["id"].upper(), deleted["id"])]

    assert {a.status_code for a in answers} == {404}
    assert {a.content for a in answers} == {b'{"error":{"code":"not_found","message":"Not found."}}'}
    after = WebhookEndpoint.objects.get(public_id=endpoint["id"])
    assert (after.url, after.enabled, after.deleted_at, after.secret_encrypted, after.previous_secret_encrypted) == (
        before.url, True, None, before.secret_encrypted, "")
    assert not WebhookEvent.objects.exists()
    assert client.get(ENDPOINTS, **bearer(outsider_key)).json() == {"results": []}


@pytest.mark.parametrize(("method", "path"), [
    ("get", ENDPOINTS), ("post", ENDPOINTS), ("get", f"{ENDPOINTS}{uuid.uuid4()}/"),
    ("patch", f"{ENDPOINTS}{uuid.uuid4()}/"), ("delete", f"{ENDPOINTS}{uuid.uuid4()}/"),
    ("post", f"{ENDPOINTS}{uuid.uuid4()}/rotate/"), ("post", f"{ENDPOINTS}{uuid.uuid4()}/test/"), ("get", EVENT_TYPES),
])
def test_without_a_key_every_operation_is_401(client, method, path):
    response = getattr(client, method)(path, {"url": PUBLIC_URL, "events": ["consent.withdrawn"]},
                                       content_type="application/json")
    assert response.status_code == 401 and response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not WebhookEndpoint.objects.exists()


BAD_BODIES = [
    ({"events": ["consent.withdrawn"]}, "url"),
    ({"url": "", "events": ["consent.withdrawn"]}, "url"),
    ({"url": "not a url", "events": ["consent.withdrawn"]}, "url"),
    ({"url": "http://93.184.215.14/hooks", "events": ["consent.withdrawn"]}, "url"),
    ({"url": "ftp://93.184.215.14/hooks", "events": ["consent.withdrawn"]}, "url"),
    ({"url": "https://user:pass@93.184.215.14/hooks", "events": ["consent.withdrawn"]}, "url"),
    ({"url": "https://does-not-resolve.invalid/hooks", "events": ["consent.withdrawn"]}, "url"),
    ({"url": "https://93.184.215.14/" + "a" * 500, "events": ["consent.withdrawn"]}, "url"),
    ({"url": ["https://93.184.215.14/"], "events": ["consent.withdrawn"]}, "url"),
    ({"url": PUBLIC_URL}, "events"),
    ({"url": PUBLIC_URL, "events": []}, "events"),
    ({"url": PUBLIC_URL, "events": "consent.withdrawn"}, "events"),
    ({"url": PUBLIC_URL, "events": {"consent.withdrawn": True}}, "events"),
    ({"url": PUBLIC_URL, "events": ["consent.withdrawn", "client.deleted"]}, "events"),
    ({"url": PUBLIC_URL, "events": ["webhook.test"]}, "events"),
    ({"url": PUBLIC_URL, "events": [None]}, "events"),
    ({"url": PUBLIC_URL, "events": ["consent.withdrawn"] * 100}, "events"),
    ({"url": PUBLIC_URL, "events": ["consent.withdrawn"], "enabled": True}, "enabled"),
    ({"url": PUBLIC_URL, "events": ["consent.withdrawn"], "secret": "whsec_mine"}, "secret"),
    (["https://93.184.215.14/hooks"], "non_field_errors"),
]


@pytest.mark.parametrize(("body", "field"), BAD_BODIES)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(client, recipient, body, field):
    _affiliate, key = recipient

    response = client.post(ENDPOINTS, body, content_type="application/json", **bearer(key))

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid_parameters" and set(error["fields"]) == {field}
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize(("body", "field"), [(b, f) for b, f in BAD_BODIES if f in ("url", "events") and f in b] + [
    ({"enabled": None}, "enabled"), ({"enabled": "maybe"}, "enabled"), ({"enable": False}, "enable"),
])
def test_a_bad_change_is_a_400_and_leaves_the_endpoint_as_it_was(client, recipient, body, field):
    _affiliate, key = recipient
    endpoint = created(client, key)
    before = WebhookEndpoint.objects.values().get(public_id=endpoint["id"])

    response = client.patch(f"{ENDPOINTS}{endpoint['id']}/", body, content_type="application/json", **bearer(key))

    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == {field}
    assert WebhookEndpoint.objects.values().get(public_id=endpoint["id"]) == before


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hooks",
    "https://127.0.0.1:8443/hooks",
    "https://10.0.0.1/hooks",
    "https://192.168.1.10/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::1]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://0.0.0.0/hooks",
    "https://localhost/hooks",  # a name that resolves to loopback
    "http://localhost/hooks",
])
def test_a_private_loopback_or_link_local_destination_is_refused_when_private_networks_are_not_allowed(
        client, recipient, url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    _affiliate, key = recipient

    response = create(client, key, url=url)

    assert response.status_code == 400, response.content
    assert set(response.json()["error"]["fields"]) == {"url"}
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_cannot_be_moved_to_a_private_address_either(client, recipient):
    _affiliate, key = recipient
    endpoint = created(client, key)
    response = client.patch(f"{ENDPOINTS}{endpoint['id']}/", {"url": "https://169.254.169.254/"},
                            content_type="application/json", **bearer(key))
    assert response.status_code == 400 and set(response.json()["error"]["fields"]) == {"url"}
    assert WebhookEndpoint.objects.get(public_id=endpoint["id"]).url == PUBLIC_URL


def test_consent_granted_is_refused_unless_the_agreement_tells_grants(client, recipient):
    affiliate, key = recipient
    types = [item["type"] for item in client.get(EVENT_TYPES, **bearer(key)).json()["event_types"]]
    assert types == ["consent.withdrawn", "client.rectified", "client.erased", "agreement.changed", "policy.amended"]

    refused = create(client, key, events=["consent.withdrawn", "consent.granted"])
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"events": ["Your agreement does not let you receive: consent.granted."]}
    assert not WebhookEndpoint.objects.exists()
    endpoint = created(client, key)
    patched = client.patch(f"{ENDPOINTS}{endpoint['id']}/", {"events": ["consent.granted"]},
                           content_type="application/json", **bearer(key))
    assert patched.status_code == 400 and set(patched.json()["error"]["fields"]) == {"events"}
    assert WebhookEndpoint.objects.get(public_id=endpoint["id"]).events == ["consent.withdrawn"]

    SharingAgreement.objects.filter(affiliate=affiliate).update(tells_grants=True)
    assert "consent.granted" in [item["type"] for item in client.get(EVENT_TYPES, **bearer(key)).json()["event_types"]]
    accepted = create(client, key, events=["consent.withdrawn", "consent.granted"])
    assert accepted.status_code == 201 and accepted.json()["events"] == ["consent.withdrawn", "consent.granted"]


def test_each_event_type_comes_with_a_description(client, recipient):
    _affiliate, key = recipient
    items = client.get(EVENT_TYPES, **bearer(key)).json()["event_types"]
    assert items[0] == {"type": "consent.withdrawn", "description": "Consent withdrawn: delete the client"}
    assert all(item["description"] for item in items)


def test_a_recipient_has_at_most_ten_endpoints(client, recipient):
    _affiliate, key = recipient
    for _ in range(10):
        created(client, key)
    response = create(client, key)
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"non_field_errors": ["A recipient may have at most 10 endpoints."]}
    assert WebhookEndpoint.objects.count() == 10


def test_test_events_are_throttled_per_key_more_tightly_than_the_rest(client, recipient):
    _affiliate, key = recipient
    endpoint = created(client, key)
    answers = [post(client, key, f"{ENDPOINTS}{endpoint['id']}/test/").status_code for _ in range(13)]
    assert answers == [202] * 12 + [429]
    assert WebhookEvent.objects.count() == 12
    assert client.get(ENDPOINTS, **bearer(key)).status_code == 200


def test_the_schema_documents_every_webhook_operation(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    operations = {(path, method): (operation["operationId"], set(operation["responses"]))
                  for path, item in schema["paths"].items() if "/webhooks/" in path for method, operation in item.items()}
    one = f"{ENDPOINTS}{{endpoint_id}}/"
    assert operations == {
        (ENDPOINTS, "get"): ("webhook_endpoints_list", {"200", "401", "429", "503"}),
        (ENDPOINTS, "post"): ("webhook_endpoints_create", {"201", "400", "401", "415", "429", "503"}),
        (one, "get"): ("webhook_endpoints_retrieve", {"200", "400", "401", "404", "429", "503"}),
        (one, "patch"): ("webhook_endpoints_update", {"200", "400", "401", "404", "415", "429", "503"}),
        (one, "delete"): ("webhook_endpoints_destroy", {"204", "400", "401", "404", "429", "503"}),
        (f"{one}rotate/", "post"): ("webhook_endpoints_rotate", {"200", "400", "401", "404", "429", "503"}),
        (f"{one}test/", "post"): ("webhook_endpoints_test", {"202", "400", "401", "404", "429", "503"}),
        (EVENT_TYPES, "get"): ("webhook_event_types_list", {"200", "401", "429", "503"}),
    }
    request = schema["components"]["schemas"]["EndpointCreateRequest"]
    assert request["additionalProperties"] is False and set(request["required"]) == {"url", "events"}
    assert "secret" not in schema["components"]["schemas"]["EndpointItem"]["properties"]
