"""The staff side of webhooks (issue #19): partner managers make endpoints (the signing secret shown once), rotate,
test, enable, disable and delete them and redeliver from the log; privacy officers and Legal look; support agents see
nothing of it."""

from datetime import timedelta

import django.test
import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import formats, timezone

from accounts.models import StaffAccess
from accounts.services import staff_user_ensure
from sharing.models import Affiliate
from tests.conftest import PASSWORD
from tests.sharing.conftest import make_affiliate
from webhooks.delivery import deliveries_sweep
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.secrets import secret_decrypt

from .helpers import client_held_by, recipient_with_endpoint, verified, withdraw

pytestmark = pytest.mark.django_db

ENDPOINTS = reverse("admin:webhooks_webhookendpoint_changelist")
ENDPOINT_ADD = reverse("admin:webhooks_webhookendpoint_add")
DELIVERIES = reverse("admin:webhooks_webhookdelivery_changelist")


def endpoint_page(endpoint):
    return reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])


def step(endpoint, name):
    return reverse("admin:webhooks_webhookendpoint_step", args=[endpoint.pk, name])


def delivery_page(delivery):
    return reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk])


@pytest.fixture
def partner_manager(db):
    return staff_user_ensure(email="partners@example.com", password=PASSWORD, groups=["Partner managers"])


@pytest.fixture
def legal(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


@pytest.fixture
def world(receiver, private_networks, django_capture_on_commit_callbacks):
    """A recipient with an endpoint at the receiver, and one withdrawal delivered to it."""
    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(client, affiliate)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    return affiliate, endpoint, secret, client, delivery


# Endpoints


def test_a_partner_manager_adds_an_endpoint_and_sees_its_secret_once(client, partner_manager, receiver, private_networks,
                                                                    django_capture_on_commit_callbacks):
    ads = make_affiliate("Ads Network")
    client.force_login(partner_manager)
    form = client.get(ENDPOINT_ADD)
    assert form.status_code == 200
    assert 'type="checkbox" name="events" value="consent.withdrawn"' in form.content.decode()
    response = client.post(ENDPOINT_ADD, {"affiliate": ads.pk, "url": receiver.url,
                                          "events": ["consent.withdrawn", "client.erased"]})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    secret = response.context["secret"]
    page = response.content.decode()
    assert secret.startswith("whsec_") and secret in page and "will not be shown again" in page

    endpoint = WebhookEndpoint.objects.get(affiliate=ads)
    assert endpoint.events == ["consent.withdrawn", "client.erased"] and endpoint.created_by == partner_manager
    assert secret_decrypt(endpoint.secret_encrypted) == secret
    assert secret not in str(WebhookEndpoint.objects.filter(pk=endpoint.pk).values().get())
    assert secret not in str(dict(client.session.items()))
    for url in (endpoint_page(endpoint), ENDPOINTS, reverse("admin:webhooks_webhookendpoint_history", args=[endpoint.pk])):
        shown = client.get(url).content.decode()
        assert secret not in shown and endpoint.secret_encrypted not in shown
    assert LogEntry.objects.filter(object_id=str(endpoint.pk), user=partner_manager).exists()

    with django_capture_on_commit_callbacks(execute=True):  # the secret given works: a test event verifies with it
        client.post(step(endpoint, "test"))
    [request] = receiver.of_type("webhook.test")
    assert verified(request, secret)["data"]["endpoint_id"] == str(endpoint.public_id)


def test_the_add_form_shows_what_the_services_refuse_on_the_field_it_is_about(client, partner_manager):
    ads = make_affiliate("Ads Network")
    processor = Affiliate.objects.create(name="Mail Processor", kind=Affiliate.Kind.PROCESSOR, country="CN",
                                         contact_name="C", contact_email="c@processor.example")
    client.force_login(partner_manager)
    assert f'value="{processor.pk}"' not in client.get(ENDPOINT_ADD).content.decode()

    private = client.post(ENDPOINT_ADD, {"affiliate": ads.pk, "url": "https://127.0.0.1/hooks",
                                         "events": ["consent.withdrawn"]})
    assert "not public" in str(private.context["form"].errors["url"])
    granted = client.post(ENDPOINT_ADD, {"affiliate": ads.pk, "url": "https://127.0.0.1/hooks",
                                         "events": ["consent.granted"]})
    assert "Your agreement does not let you receive: consent.granted." in str(granted.context["form"].errors["events"])
    none = client.post(ENDPOINT_ADD, {"affiliate": ads.pk, "url": "https://127.0.0.1/hooks"})
    assert "Choose at least one event type." in str(none.context["form"].errors["events"])
    refused = client.post(ENDPOINT_ADD, {"affiliate": processor.pk, "url": "https://127.0.0.1/hooks",
                                         "events": ["consent.withdrawn"]})
    assert "affiliate" in refused.context["form"].errors
    for response in (private, granted, none, refused):
        assert response.status_code == 200 and "secret" not in response.context
    assert not WebhookEndpoint.objects.exists()


def test_the_change_list_shows_health_and_never_the_secret_nor_its_encryption(client, partner_manager, receiver,
                                                                              private_networks):
    _affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    failing = timezone.now() - timedelta(hours=3)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failures_in_row=4, failing_since=failing)
    client.force_login(partner_manager)
    response = client.get(ENDPOINTS)
    page = response.content.decode()
    assert response.status_code == 200 and receiver.url in page and "Ads Network" in page
    assert "consent.withdrawn, client.rectified" in page and 'class="field-failures_in_row">4<' in page
    assert secret not in page and endpoint.secret_encrypted not in page
    # The admin filters on any local field from the query string: not on the secrets (an oracle, a character at a time).
    prefix = endpoint.secret_encrypted[:8]
    assert client.get(ENDPOINTS, {"secret_encrypted__startswith": prefix}).status_code == 400
    assert client.get(ENDPOINTS, {"previous_secret_encrypted__isnull": "False"}).status_code == 400
    assert client.get(ENDPOINTS, {"state": "failing"}).context["cl"].result_count == 1
    assert client.get(ENDPOINTS, {"state": "deleted"}).context["cl"].result_count == 0


def test_rotating_shows_the_new_secret_once_and_the_old_one_signs_until_the_overlap_ends(
        client, partner_manager, receiver, private_networks, django_capture_on_commit_callbacks):
    _affiliate, endpoint, old_secret = recipient_with_endpoint(receiver.url)
    client.force_login(partner_manager)
    confirm = client.get(step(endpoint, "rotate"))
    assert confirm.status_code == 200 and "24 hours" in confirm.content.decode()
    endpoint.refresh_from_db()
    assert secret_decrypt(endpoint.secret_encrypted) == old_secret  # a GET changes nothing

    response = client.post(step(endpoint, "rotate"))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    new_secret = response.context["secret"]
    page = response.content.decode()
    assert new_secret != old_secret and new_secret in page and "will not be shown again" in page
    assert "The previous secret still signs every delivery" in page
    endpoint.refresh_from_db()
    assert timedelta(hours=23) < endpoint.previous_secret_until - timezone.now() <= timedelta(hours=24)
    assert new_secret not in client.get(endpoint_page(endpoint)).content.decode()
    assert "the previous secret also signs until" in client.get(endpoint_page(endpoint)).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(step(endpoint, "test"))
    [request] = receiver.of_type("webhook.test")
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verified(request, new_secret)
    verified(request, old_secret)


def test_a_test_event_goes_to_the_endpoint_and_its_delivery_page_shows_the_outcome(
        client, partner_manager, receiver, private_networks, django_capture_on_commit_callbacks):
    _affiliate, endpoint, secret = recipient_with_endpoint(receiver.url, events=["consent.withdrawn"])
    client.force_login(partner_manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(step(endpoint, "test"))
    delivery = WebhookDelivery.objects.get(endpoint=endpoint, event__type="webhook.test")
    assert response.status_code == 302 and response["Location"] == delivery_page(delivery)
    assert delivery.status == "delivered" and delivery.last_status_code == 200
    assert verified(receiver.received[0], secret)["type"] == "webhook.test"
    page = client.get(delivery_page(delivery)).content.decode()
    assert delivery.event.webhook_id in page and "A test event from Fulfillmen." in page


def test_disabling_and_enabling_go_through_the_service(client, partner_manager, receiver, private_networks):
    _affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    client.force_login(partner_manager)
    assert client.post(step(endpoint, "disable")).status_code == 302
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.disabled_reason == "Disabled by hand."
    page = client.get(endpoint_page(endpoint)).content.decode()
    assert step(endpoint, "enable") in page and step(endpoint, "disable") not in page
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failures_in_row=9, failing_since=timezone.now())
    client.post(step(endpoint, "enable"))
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.disabled_reason == "" and endpoint.failures_in_row == 0


def test_the_change_form_checks_a_new_url_with_the_service(client, partner_manager, receiver, private_networks, settings):
    _affiliate, endpoint, secret = recipient_with_endpoint(receiver.url, events=["consent.withdrawn"])
    client.force_login(partner_manager)
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    refused = client.post(endpoint_page(endpoint), {"url": "https://10.0.0.8/hooks", "events": ["consent.withdrawn"]})
    assert refused.status_code == 200 and "not public" in str(refused.context["adminform"].form.errors["url"])
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    saved = client.post(endpoint_page(endpoint), {"url": receiver.url + "/v2", "events": ["consent.withdrawn",
                                                                                           "client.erased"]})
    assert saved.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == receiver.url + "/v2" and endpoint.events == ["consent.withdrawn", "client.erased"]
    assert secret_decrypt(endpoint.secret_encrypted) == secret  # saving the form never touches the secret


def test_deleting_is_soft_and_the_admins_own_delete_is_impossible(client, partner_manager, world):
    _affiliate, endpoint, _secret, _client, delivery = world
    client.force_login(partner_manager)
    assert client.get(reverse("admin:webhooks_webhookendpoint_delete", args=[endpoint.pk])).status_code == 403
    assert client.post(ENDPOINTS, {"action": "delete_selected", "_selected_action": [endpoint.pk], "post": "yes"}
                       ).status_code in (200, 302)
    assert WebhookEndpoint.objects.filter(pk=endpoint.pk, deleted_at__isnull=True).exists()

    assert client.post(step(endpoint, "delete")).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.deleted_at is not None and not endpoint.enabled
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()  # the log stays: who was told what, when
    page = client.get(endpoint_page(endpoint)).content.decode()
    assert step(endpoint, "rotate") not in page and step(endpoint, "enable") not in page
    client.post(step(endpoint, "enable"))
    endpoint.refresh_from_db()
    assert not endpoint.enabled


def test_a_step_changes_nothing_on_get_and_refuses_a_post_without_its_csrf_token(partner_manager, receiver,
                                                                                private_networks):
    _affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    browser = django.test.Client(enforce_csrf_checks=True)
    browser.force_login(partner_manager)
    for name in ("rotate", "test", "disable", "delete"):
        assert browser.get(step(endpoint, name)).status_code == 200
        assert browser.post(step(endpoint, name)).status_code == 403
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.deleted_at is None and secret_decrypt(endpoint.secret_encrypted) == secret
    assert not WebhookDelivery.objects.exists()


# Who may do what


def test_privacy_officers_and_legal_may_look_but_not_change(client, privacy_officer, legal, world):
    _affiliate, endpoint, secret, _client, delivery = world
    for user in (privacy_officer, legal):
        client.force_login(user)
        assert client.get(ENDPOINTS).status_code == 200
        page = client.get(endpoint_page(endpoint))
        assert page.status_code == 200 and step(endpoint, "rotate") not in page.content.decode()
        assert client.get(ENDPOINT_ADD).status_code == 403
        for name in ("rotate", "test", "disable", "delete"):
            assert client.get(step(endpoint, name)).status_code == 403
            assert client.post(step(endpoint, name)).status_code == 403
        assert client.post(endpoint_page(endpoint), {"url": "https://example.com/x", "events": ["client.erased"]}
                           ).status_code == 403
        detail = client.get(delivery_page(delivery))
        assert detail.status_code == 200 and "Redeliver now" not in detail.content.decode()
        assert client.post(reverse("admin:webhooks_webhookdelivery_redeliver", args=[delivery.pk])).status_code == 403
        client.post(DELIVERIES, {"action": "redeliver_selected", "_selected_action": [delivery.pk]})
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert secret_decrypt(endpoint.secret_encrypted) == secret and endpoint.previous_secret_until is None
    assert delivery.status == "delivered" and delivery.attempts == 1


def test_a_support_agent_sees_neither_endpoints_nor_deliveries(client, support_agent, world):
    _affiliate, endpoint, _secret, _client, delivery = world
    client.force_login(support_agent)
    for url in (ENDPOINTS, ENDPOINT_ADD, endpoint_page(endpoint), step(endpoint, "rotate"), DELIVERIES,
                delivery_page(delivery)):
        assert client.get(url).status_code == 403, url
    assert client.post(step(endpoint, "rotate")).status_code == 403
    assert client.post(reverse("admin:webhooks_webhookdelivery_redeliver", args=[delivery.pk])).status_code == 403
    assert client.get(reverse("admin:webhooks_webhookendpoint_step", args=[999999, "rotate"])).status_code == 403
    index = client.get(reverse("admin:index")).content.decode()
    assert ENDPOINTS not in index and DELIVERIES not in index


# The delivery log


def test_the_delivery_log_lists_each_outcome_and_filters_by_status_and_event_type(
        client, partner_manager, receiver, private_networks, django_capture_on_commit_callbacks):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    receiver.fail_next(1, status=503)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(client_held_by(affiliate), affiliate)
    pending = WebhookDelivery.objects.get(endpoint=endpoint)
    client.force_login(partner_manager)
    response = client.get(DELIVERIES)
    page = response.content.decode()
    assert response.status_code == 200 and "consent.withdrawn" in page and receiver.url in page and "Ads Network" in page
    assert 'class="field-last_status_code">503<' in page and "Pending" in page
    next_retry = formats.date_format(timezone.localtime(pending.next_attempt_at), "DATETIME_FORMAT")
    assert f'<td class="field-next_retry">{next_retry}</td>' in page
    assert client.get(DELIVERIES, {"status__exact": "delivered"}).context["cl"].result_count == 0
    assert client.get(DELIVERIES, {"status__exact": "pending"}).context["cl"].result_count == 1
    assert client.get(DELIVERIES, {"event__type__exact": "client.erased"}).context["cl"].result_count == 0
    assert client.get(DELIVERIES, {"event__type__exact": "consent.withdrawn"}).context["cl"].result_count == 1
    assert client.get(DELIVERIES, {"q": pending.event.webhook_id}).context["cl"].result_count == 1
    assert client.get(DELIVERIES, {"q": "msg_not-hex"}).context["cl"].result_count == 0
    # Filters on what a row does not show (a client, the payload) are refused.
    assert client.get(DELIVERIES, {"event__payload__data__client_id": "x"}).status_code == 400
    assert not StaffAccess.objects.exists()  # the list names no client


def test_a_delivery_page_shows_its_attempts_and_the_payload_and_logs_the_look_at_the_client(
        client, partner_manager, receiver, private_networks, django_capture_on_commit_callbacks):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    held = client_held_by(affiliate)
    receiver.fail_next(1, status=503)
    receiver.body = b"<script>alert('recipient')</script> thanks, got it"  # what a recipient answers is its to write
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(held, affiliate)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliveries_sweep()
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2
    client.force_login(partner_manager)
    page = client.get(delivery_page(delivery)).content.decode()
    assert page.count('class="field-status_code"') == 2 and ">503<" in page and ">200<" in page
    assert "&lt;script&gt;alert(&#x27;recipient&#x27;)&lt;/script&gt; thanks, got it" in page and "<script>alert" not in page
    assert str(held.public_id) in page and "webhook-payload" in page
    assert StaffAccess.objects.filter(staff=partner_manager, client=held).exists()


def test_redeliver_now_sends_again_with_the_same_webhook_id(client, partner_manager, world, receiver,
                                                            django_capture_on_commit_callbacks):
    _affiliate, _endpoint, secret, _client, delivery = world
    client.force_login(partner_manager)
    assert "Redeliver now" in client.get(delivery_page(delivery)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(DELIVERIES, {"action": "redeliver_selected", "_selected_action": [delivery.pk]})
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:webhooks_webhookdelivery_redeliver", args=[delivery.pk]))
    assert len(receiver.received) == 3 and len({r.webhook_id for r in receiver.received}) == 1
    for request in receiver.received:
        verified(request, secret)
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempts == 3


def test_the_delivery_log_is_read_only(client, partner_manager, world):
    _affiliate, _endpoint, _secret, _client, delivery = world
    client.force_login(partner_manager)
    assert client.get(reverse("admin:webhooks_webhookdelivery_add")).status_code == 403
    assert client.get(reverse("admin:webhooks_webhookdelivery_delete", args=[delivery.pk])).status_code == 403
    assert client.post(delivery_page(delivery), {"status": "failed"}).status_code == 403
    assert client.get(reverse("admin:webhooks_webhookdelivery_redeliver", args=[delivery.pk])).status_code == 405
    delivery.refresh_from_db()
    assert delivery.status == "delivered"

