"""The "Do Not Sell or Share My Personal Information" link (CCPA 1798.135; 11 CCR 7013, 7026)."""

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent.do_not_sell_views import LIMIT_PER_EMAIL, LIMIT_PER_IP
from consent.models import Channel, ConsentEvent, ConsentState, Purpose
from consent.services import consent_record
from notify.models import OutboundMessage
from sharing.models import SharingRecord, WithdrawalNotice
from sharing.services import affiliate_key_create
from tests.conftest import make_client
from tests.sharing.conftest import bearer, make_affiliate

pytestmark = pytest.mark.django_db

PAGE = reverse("consent:do_not_sell")
OPT_OUT = reverse("consent:do_not_sell_withdraw")
REQUEST = reverse("consent:do_not_sell_request")
LABEL = "Do Not Sell or Share My Personal Information"
UA = {"HTTP_USER_AGENT": "Firefox/130.0", "REMOTE_ADDR": "198.51.100.7"}


@pytest.fixture
def californian(db):
    """Starts granted for promotional sharing: California's opt-out model."""
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cali Client")


def sale_codes():
    return set(Purpose.objects.filter(opted_out_by_gpc=True).values_list("code", flat=True))


def granted(client):
    return {s.purpose.code: s.granted for s in ConsentState.objects.filter(client=client).select_related("purpose")}


def dns_events(client):
    return ConsentEvent.objects.filter(client=client, channel=Channel.DO_NOT_SELL)


def link_in(message) -> str:
    return "/" + re.search(r"https?://\S+/do-not-sell-or-share/confirm/\S+/", message.body).group(0).split("/", 3)[3]


@pytest.mark.parametrize("language, label", [("en", LABEL), ("zh-hans", "请勿出售或共享我的个人信息")])
def test_every_page_links_to_do_not_sell_or_share(client, owner, language, label):
    pages = [reverse("home"), reverse("policy:current"), reverse("login"), reverse("rights:public_request_new"),
             reverse("cookies"), PAGE]
    for path in pages:
        body = client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode()
        assert f'href="{PAGE}"' in body and label in body, path
    client.force_login(owner.user)
    for path in (reverse("portal:dashboard"), reverse("consent:choices"), reverse("rights:data")):
        assert label in client.get(path, HTTP_ACCEPT_LANGUAGE=language).content.decode(), path


def test_the_page_explains_which_uses_are_a_sale_or_sharing_and_who_receives_them(client):
    body = client.get(PAGE).content.decode()
    for purpose in Purpose.objects.filter(opted_out_by_gpc=True):
        assert purpose.title_en in body and str(purpose.get_recipient_class_display()) in body
    assert "Global Privacy Control" in body and "treated the same" in body
    assert "has been honoured" not in body
    assert "has been honoured" in client.get(PAGE, HTTP_SEC_GPC="1").content.decode()


def test_do_not_sell_withdraws_every_sale_or_sharing_purpose_in_one_click_without_a_password(
        client, californian, outsider, django_capture_on_commit_callbacks):
    before = granted(californian)
    assert all(before[code] for code in sale_codes())
    client.force_login(californian.user)
    page = client.get(PAGE).content.decode()
    assert 'type="password"' not in page and f'action="{OPT_OUT}"' in page
    outsider_events = ConsentEvent.objects.filter(client=outsider).count()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(OPT_OUT, **UA, follow=True)

    assert response.status_code == 200 and "we no longer sell or share your personal information" in response.content.decode()
    after = granted(californian)
    assert {code for code in sale_codes() if not after[code]} == sale_codes()
    assert {c: v for c, v in after.items() if c not in sale_codes()} == {c: v for c, v in before.items() if c not in sale_codes()}
    events = list(dns_events(californian))
    assert {e.purpose.code for e in events} == sale_codes() and all(e.action == "withdraw" for e in events)
    assert events[0].personal.ip_address == "198.51.100.7" and events[0].personal.user_agent == "Firefox/130.0"
    receipts = [m for m in mail.outbox if m.to == ["ca@example.com"] and "receipt" in m.subject.lower()]
    assert len(receipts) == len(sale_codes()) and "Do Not Sell or Share link" in receipts[0].body
    # Shown where the client looks: "Your choices" names the channel, the history lists the event.
    assert "Do Not Sell or Share link" in client.get(reverse("consent:choices")).content.decode()
    assert "Do Not Sell or Share link" in client.get(reverse("consent:history")).content.decode()
    assert "You are opted out" in client.get(PAGE).content.decode()
    assert ConsentEvent.objects.filter(client=outsider).count() == outsider_events


def test_pressing_do_not_sell_twice_records_nothing_new(client, californian, django_capture_on_commit_callbacks):
    client.force_login(californian.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(OPT_OUT)
    events, messages = ConsentEvent.objects.count(), OutboundMessage.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(OPT_OUT, follow=True)

    assert "nothing new was recorded" in response.content.decode()
    assert (ConsentEvent.objects.count(), OutboundMessage.objects.count()) == (events, messages)


def test_a_client_who_gave_consent_again_is_opted_out_again_by_a_new_press(client, californian):
    client.force_login(californian.user)
    client.post(OPT_OUT)
    consent_record(client=californian, purpose=Purpose.objects.get(code="promotional-sharing"), action="grant",
                   channel=Channel.PORTAL)
    client.post(OPT_OUT)
    assert granted(californian)["promotional-sharing"] is False and dns_events(californian).count() == 2


def test_affiliate_stops_receiving_the_client_after_do_not_sell(client, californian, outsider):
    ads = make_affiliate("Ads Network")
    ads_key = affiliate_key_create(affiliate=ads)[1]
    other = make_client("ca2@example.com", country="US", region="US-CA", phone="+14155552672", full_name="Other Cal")

    def shared():
        return {item["id"] for item in client.get("/api/v1/clients/", {"purpose": "promotional-sharing"},
                                                  **bearer(ads_key)).json()["results"]}

    assert {str(californian.public_id), str(other.public_id)} <= shared()
    browser = client.__class__()
    browser.force_login(californian.user)
    browser.post(OPT_OUT)

    assert str(californian.public_id) not in shared() and str(other.public_id) in shared()
    [notice] = WithdrawalNotice.objects.filter(client=californian)  # told in the withdrawal's own transaction
    assert notice.affiliate == ads and notice.purpose.code == "promotional-sharing"
    assert not WithdrawalNotice.objects.filter(client=other).exists()
    assert SharingRecord.objects.filter(client=californian).count() == 1  # the one delivery before the opt-out


def test_do_not_sell_without_an_account_needs_only_the_email_and_answers_the_same_for_unknown_addresses(
        client, californian, django_capture_on_commit_callbacks):
    form = client.get(PAGE).content.decode()
    assert re.findall(r'<input[^>]+name="(\w+)"', form.split(f'action="{REQUEST}"')[1].split("</form>")[0]) == [
        "csrfmiddlewaretoken", "email"]
    clients_before = californian.__class__.objects.count()

    answers, timings = [], []
    for address in ("CA@example.com", "nobody@example.com"):
        start = time.perf_counter()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(REQUEST, {"email": address}, HTTP_ACCEPT_LANGUAGE="zh-hans")
        timings.append(time.perf_counter() - start)
        assert response.status_code == 302 and response["Location"] == reverse("consent:do_not_sell_sent")
        page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
        answers.append(re.sub(r'name="csrfmiddlewaretoken" value="\w+"', "", page).replace(address, "ADDRESS"))
    assert answers[0] == answers[1]
    assert max(timings) < 10 * min(timings) + 0.05  # one lookup and one delivery row either way

    to_client, to_stranger = mail.outbox
    assert to_client.to == ["ca@example.com"] and "请勿出售" in to_client.subject + to_client.body
    assert to_stranger.to == ["nobody@example.com"] and "/confirm/" not in to_stranger.body
    assert OutboundMessage.objects.get(kind="do-not-sell-confirm").body == ""  # the link was a credential
    assert californian.__class__.objects.count() == clients_before  # no account for a stranger
    assert granted(californian)["promotional-sharing"] is True  # nothing until the link is opened

    with django_capture_on_commit_callbacks(execute=True):
        done = client.get(link_in(to_client), **UA)
    assert done.status_code == 200 and granted(californian)["promotional-sharing"] is False
    [event] = dns_events(californian)
    assert "confirmed from the e-mail address" in event.personal.reason and event.recorded_by is None
    assert "nothing new was recorded" in client.get(link_in(to_client)).content.decode()
    assert dns_events(californian).count() == 1


def test_a_forged_or_stale_link_opts_nobody_out(client, californian, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(REQUEST, {"email": "ca@example.com"})
    link = link_in(mail.outbox[0])
    assert client.get(reverse("consent:do_not_sell_confirm", args=["forged"])).status_code == 400
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        response = client.get(link)
    assert response.status_code == 400 and "expired" in response.content.decode()
    assert not dns_events(californian).exists()


def test_the_request_form_is_rate_limited_per_address_and_per_ip(client, californian):
    for _ in range(LIMIT_PER_EMAIL):
        assert client.post(REQUEST, {"email": "ca@example.com"}, REMOTE_ADDR="203.0.113.1").status_code == 302
    assert client.post(REQUEST, {"email": "ca@example.com"}, REMOTE_ADDR="203.0.113.2").status_code == 429
    for n in range(LIMIT_PER_IP - 1):
        client.post(REQUEST, {"email": f"x{n}@example.com"}, REMOTE_ADDR="203.0.113.3")
    assert client.post(REQUEST, {"email": "y@example.com"}, REMOTE_ADDR="203.0.113.3").status_code == 302
    assert client.post(REQUEST, {"email": "z@example.com"}, REMOTE_ADDR="203.0.113.3").status_code == 429
    assert OutboundMessage.objects.filter(kind__startswith="do-not-sell").count() == LIMIT_PER_EMAIL + LIMIT_PER_IP


def test_an_outsider_pressing_do_not_sell_leaves_the_owner_untouched(client, californian, outsider):
    owner_states, owner_events = granted(californian), ConsentEvent.objects.filter(client=californian).count()
    client.force_login(outsider.user)
    client.post(OPT_OUT)
    assert granted(californian) == owner_states
    assert ConsentEvent.objects.filter(client=californian).count() == owner_events
    # Anonymous visitors cannot press the logged-in button; they get the log-in page.
    client.logout()
    assert client.post(OPT_OUT)["Location"].startswith(reverse("login"))
    assert ConsentEvent.objects.filter(client=californian).count() == owner_events
