"""Issue #16.5: nobody in the admin can move a client's account to another address or login. A change of e-mail
address is asked for (by a support agent or by the client), a link goes to the new address and a notice to the old
one, and only the link, confirmed with the account's password, applies it."""

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from accounts.email_change import client_email_change_confirm, client_email_change_start
from accounts.models import Client, EmailChangeRequest, User
from accounts.services import client_create, client_update, staff_user_ensure
from consent.models import Purpose
from rights.models import Rectification
from sharing.models import WithdrawalNotice
from sharing.services import sharing_records_write
from tests.conftest import PASSWORD, make_client
from tests.sharing.conftest import make_affiliate

pytestmark = pytest.mark.django_db
Status = EmailChangeRequest.Status
NEW = "owner.new@example.org"
AGENTS_OWN = "helper@agent-mail.example"  # a mailbox the support agent reads
LINK = re.compile(r"https?://\S+/accounts/email/confirm/[\w-]+/")


def change_url(c):
    return reverse("admin:accounts_client_change", args=[c.pk])


def email_change_url(c):
    return reverse("admin:accounts_client_email_change", args=[c.pk])


def change_data(c, **changes):
    data = {"full_name": c.full_name, "email": c.email, "phone": c.phone, "country": str(c.country), "region": c.region,
            "preferred_language": c.preferred_language, "user": c.user_id or "", **changes}
    for prefix in ("addresses", "ip_observations"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0, f"{prefix}-MIN_NUM_FORMS": 0,
                     f"{prefix}-MAX_NUM_FORMS": 1000})
    return data


def mails_to(address):
    return [m for m in mail.outbox if m.to == [address]]


def link_path(address) -> str:
    [message] = [m for m in mails_to(address) if LINK.search(m.body)]
    link = LINK.search(message.body).group(0)
    assert link.startswith(settings.SITE_URL + "/")
    return link[len(settings.SITE_URL):]


def logs_in(address, password=PASSWORD) -> bool:
    return Browser().post(reverse("login"), {"username": address, "password": password}).status_code == 302


def emails_of(c):
    c.refresh_from_db()
    return c.email, User.objects.get(pk=c.user_id).email


@pytest.fixture
def agent_asks(client, support_agent, owner, django_capture_on_commit_callbacks):
    """The support agent asks, on the client's admin page, for the owner's address to become `new`."""
    client.force_login(support_agent)

    def ask(new=NEW):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(email_change_url(owner), {"new_email": new})
        assert response.status_code == 302 and response["Location"] == change_url(owner), response.content[:2000]
        return response

    return ask


def confirm(path, password=PASSWORD, capture=None, browser=None):
    browser = browser or Browser()
    if capture is None:
        return browser.post(path, {"password": password})
    with capture(execute=True):
        return browser.post(path, {"password": password})


# --- the admin can no longer set the address or the login ------------------------------------------------------------

def test_a_support_agent_posting_a_new_email_and_login_to_the_client_form_changes_neither(client, support_agent, owner,
                                                                                           outsider):
    client.force_login(support_agent)
    page = client.get(change_url(owner)).content.decode()
    assert 'name="email"' not in page and 'name="user"' not in page and owner.email in page

    response = client.post(change_url(owner), change_data(owner, email=AGENTS_OWN, user=support_agent.pk,
                                                           full_name="Owner Renamed"))

    assert response.status_code == 302
    owner.refresh_from_db()
    assert owner.full_name == "Owner Renamed"  # what may be edited still is
    assert emails_of(owner) == ("owner@example.com", "owner@example.com") and owner.user_id != support_agent.pk


def test_the_agent_cannot_reset_the_password_to_an_address_they_control(client, agent_asks, owner, support_agent,
                                                                        django_capture_on_commit_callbacks):
    client.post(change_url(owner), change_data(owner, email=AGENTS_OWN))
    agent_asks(AGENTS_OWN)  # the agent asks for their own mailbox and gets the link…
    path = link_path(AGENTS_OWN)
    for guess in ("", "Password1!", "owner@example.com"):  # …but cannot confirm it without the client's password
        response = confirm(path, password=guess, capture=django_capture_on_commit_callbacks)
        assert response.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        Browser().post(reverse("password_reset"), {"email": AGENTS_OWN})

    assert emails_of(owner) == ("owner@example.com", "owner@example.com")
    assert [m.subject for m in mails_to(AGENTS_OWN)] == ["Confirm the new e-mail address of your Fulfillmen account"]
    assert not any("/accounts/reset/" in m.body for m in mail.outbox)
    assert EmailChangeRequest.objects.get().status == Status.PENDING


def test_the_login_is_never_editable_in_the_admin_not_even_by_a_superuser(client, owner, outsider):
    root = User.objects.create_superuser("root@example.com", PASSWORD)
    client.force_login(root)
    page = client.get(change_url(owner)).content.decode()
    assert 'name="user"' not in page and 'name="email"' not in page

    assert client.post(change_url(owner), change_data(owner, user=outsider.user_id, email="x@example.com")).status_code == 302

    assert emails_of(owner) == ("owner@example.com", "owner@example.com")
    assert Client.objects.get(pk=owner.pk).user_id == owner.user_id
    assert client.get(reverse("admin:auth_user_password_change", args=[owner.user_id])).status_code == 403
    user_page = client.get(reverse("admin:accounts_user_change", args=[owner.user_id])).content.decode()
    assert 'name="email"' not in user_page and 'name="is_staff"' not in user_page


def test_adding_a_client_in_the_admin_takes_an_email_but_never_links_an_existing_login(client, privacy_officer):
    lonely = User.objects.create_user("lonely@example.com", PASSWORD)
    client.force_login(privacy_officer)
    assert 'name="user"' not in client.get(reverse("admin:accounts_client_add")).content.decode()
    data = change_data(Client(full_name="Walk In", email="walk.in@example.com", country="DE"), user=lonely.pk)
    assert client.post(reverse("admin:accounts_client_add"), data).status_code == 302
    assert Client.objects.get(email="walk.in@example.com").user_id is None
    assert not Client.objects.filter(user=lonely).exists()


# --- a staff login never belongs to a client --------------------------------------------------------------------------

def test_a_staff_login_cannot_be_linked_to_a_client_by_the_services(owner, support_agent):
    with pytest.raises(ValidationError) as refused:
        client_create(full_name="Agent As Client", email=support_agent.email, country="DE", user=support_agent)
    assert "user" in refused.value.message_dict
    with pytest.raises(ValueError):
        client_update(client=owner, user=support_agent)
    with pytest.raises(ValueError):
        client_update(client=owner, email=AGENTS_OWN)
    with pytest.raises(ValidationError) as invalid:
        Client(full_name="X", email="x@example.com", country="DE", user=support_agent).full_clean()
    assert "user" in invalid.value.message_dict
    assert not Client.objects.filter(user=support_agent).exists()


def test_a_clients_login_can_neither_get_another_address_nor_be_made_staff_in_the_user_admin(client, owner):
    root = User.objects.create_superuser("root@example.com", PASSWORD)
    client.force_login(root)
    url = reverse("admin:accounts_user_change", args=[owner.user_id])
    form = {"email": AGENTS_OWN, "is_active": "on", "last_login_0": "", "last_login_1": "",
            "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"}
    client.post(url, form)
    client.post(url, {**form, "email": owner.email, "is_staff": "on", "is_superuser": "on",
                      "groups": [Group.objects.get(name="Support agents").pk]})
    user = User.objects.get(pk=owner.user_id)
    assert (user.email, user.is_staff, user.is_superuser, user.groups.count()) == (owner.email, False, False, 0)
    with pytest.raises(ValidationError):
        staff_user_ensure(email=owner.email, password=PASSWORD, groups=["Support agents"])


# --- the verified change ----------------------------------------------------------------------------------------------

def test_an_agents_request_sends_the_link_to_the_new_address_and_a_notice_to_the_old_and_changes_nothing_yet(
        client, agent_asks, owner, support_agent):
    agent_asks()

    assert emails_of(owner) == ("owner@example.com", "owner@example.com")
    assert not logs_in(NEW) and logs_in(owner.email)
    [link_mail] = mails_to(NEW)
    assert "Owner Client" not in link_mail.body and owner.email not in link_mail.body  # a typo's owner learns nothing
    [notice] = mails_to(owner.email)
    assert notice.subject == "Someone asked to change the e-mail address of your Fulfillmen account"
    assert "o•••@example.org" in notice.body and NEW not in notice.body and "support team" in notice.body
    assert "privacy@fulfillmen.com" in notice.body and LINK.search(notice.body) is None
    change = EmailChangeRequest.objects.get()
    assert (change.client, change.started_by, change.status, change.new_email) == (owner, support_agent, Status.PENDING,
                                                                                     NEW)
    assert change.expires_at - change.started_at == timedelta(hours=48)
    token = token_of(link_path(NEW))
    assert token not in change.token_digest and len(change.token_digest) == 64  # only its digest is stored
    page = client.get(change_url(owner)).content.decode()
    assert NEW in page and "Waiting for confirmation" in page


def test_the_confirmed_link_applies_the_change_and_the_client_logs_in_with_the_new_address(
        agent_asks, owner, django_capture_on_commit_callbacks):
    agent_asks()
    path = link_path(NEW)
    page = Browser().get(path)
    html = page.content.decode()
    assert page.status_code == 200 and 'name="password"' in html and NEW in html
    assert owner.email not in html and owner.full_name not in html  # the link's holder learns nothing of the account

    response = confirm(path, capture=django_capture_on_commit_callbacks)

    assert response.status_code == 200 and "Your e-mail address was changed" in response.content.decode()
    assert emails_of(owner) == (NEW, NEW)
    assert logs_in(NEW) and not logs_in("owner@example.com")
    done = mails_to("owner@example.com")[-1]
    assert done.subject == "The e-mail address of your Fulfillmen account was changed"
    change = EmailChangeRequest.objects.get()
    assert change.status == Status.CONFIRMED and change.closed_at is not None
    assert Rectification.objects.get(client=owner).field == "email"


def test_confirming_ends_the_clients_other_sessions_but_keeps_the_confirming_one(agent_asks, owner,
                                                                                django_capture_on_commit_callbacks):
    elsewhere, here = Browser(), Browser()
    elsewhere.force_login(owner.user)
    here.force_login(owner.user)
    dashboard = reverse("portal:dashboard")
    assert elsewhere.get(dashboard).status_code == 200
    agent_asks()

    confirm(link_path(NEW), capture=django_capture_on_commit_callbacks, browser=here)

    assert elsewhere.get(dashboard).status_code == 302
    assert here.get(dashboard).status_code == 200


def test_an_expired_link_changes_nothing(agent_asks, owner, django_capture_on_commit_callbacks):
    agent_asks()
    path = link_path(NEW)
    with time_machine.travel(timezone.now() + timedelta(hours=48, minutes=1)):
        response = confirm(path, capture=django_capture_on_commit_callbacks)
        assert response.status_code == 400 and "has expired" in response.content.decode()
    assert emails_of(owner) == ("owner@example.com", "owner@example.com")


def test_a_used_link_cannot_be_used_again(agent_asks, owner, django_capture_on_commit_callbacks):
    agent_asks()
    path = link_path(NEW)
    assert confirm(path, capture=django_capture_on_commit_callbacks).status_code == 200
    again = confirm(path, password=PASSWORD)
    assert again.status_code == 400 and "already used" in again.content.decode()
    assert Rectification.objects.filter(client=owner).count() == 1


def test_a_tampered_or_unknown_token_changes_nothing(client, agent_asks, owner):
    agent_asks()
    token = token_of(link_path(NEW))
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, "x" * len(token), str(uuid.uuid4())):
        response = confirm(reverse("email_change_confirm", args=[bad]))
        assert response.status_code == 400 and "not valid" in response.content.decode()
        assert Browser().get(reverse("email_change_confirm", args=[bad])).status_code == 400
    assert emails_of(owner) == ("owner@example.com", "owner@example.com")
    assert EmailChangeRequest.objects.get().status == Status.PENDING


def test_a_later_request_replaces_the_earlier_link(agent_asks, owner, django_capture_on_commit_callbacks):
    agent_asks()
    first = link_path(NEW)
    agent_asks("owner.other@example.org")
    response = confirm(first, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 400 and "replaced" in response.content.decode()
    assert confirm(link_path("owner.other@example.org"), capture=django_capture_on_commit_callbacks).status_code == 200
    assert emails_of(owner) == ("owner.other@example.org", "owner.other@example.org")


def token_of(path) -> str:
    return path.rstrip("/").rsplit("/", 1)[1]


def test_an_outsider_can_neither_ask_for_nor_confirm_a_change_of_another_clients_address(
        owner, outsider, django_capture_on_commit_callbacks):
    with pytest.raises(PermissionDenied):
        client_email_change_start(client=owner, new_email="taken.over@example.org", started_by=outsider.user)
    with django_capture_on_commit_callbacks(execute=True):
        client_email_change_start(client=outsider, new_email="outsider.new@example.org", started_by=outsider.user)
        client_email_change_start(client=owner, new_email=NEW, started_by=owner.user)

    with pytest.raises(PermissionDenied):  # the owner's link, confirmed by another login
        client_email_change_confirm(token=token_of(link_path(NEW)), account_holder=outsider.user)
    assert confirm(link_path("outsider.new@example.org"), capture=django_capture_on_commit_callbacks).status_code == 200

    assert emails_of(owner) == ("owner@example.com", "owner@example.com")  # the outsider's link moved the outsider only
    assert emails_of(outsider) == ("outsider.new@example.org", "outsider.new@example.org")
    assert EmailChangeRequest.objects.get(client=owner).status == Status.PENDING


def test_a_link_confirmed_with_another_clients_password_changes_nothing(owner, outsider,
                                                                         django_capture_on_commit_callbacks):
    owner.user.set_password("the-owners-own-secret-99")
    owner.user.save()
    with django_capture_on_commit_callbacks(execute=True):
        client_email_change_start(client=owner, new_email=NEW, started_by=owner.user)
    browser = Browser()
    browser.force_login(outsider.user)  # logged in as the outsider, with the outsider's password
    response = confirm(link_path(NEW), password=PASSWORD, capture=django_capture_on_commit_callbacks, browser=browser)
    assert response.status_code == 400 and "not the password of this account" in response.content.decode()
    assert emails_of(owner) == ("owner@example.com", "owner@example.com")
    assert confirm(link_path(NEW), password="the-owners-own-secret-99").status_code == 200


def test_an_address_of_another_account_is_refused_at_confirmation_and_the_agent_is_told_nothing(
        client, agent_asks, owner, outsider, django_capture_on_commit_callbacks):
    response = agent_asks(outsider.email)  # answered exactly as for a free address
    follow = client.get(response["Location"]).content.decode()
    assert "A confirmation link was sent to the new address" in follow and "already" not in follow

    refused = confirm(link_path(outsider.email), capture=django_capture_on_commit_callbacks)

    assert refused.status_code == 400 and "cannot be used for your account" in refused.content.decode()
    assert emails_of(owner) == ("owner@example.com", "owner@example.com")
    assert emails_of(outsider) == ("outsider@example.com", "outsider@example.com")
    assert EmailChangeRequest.objects.get().status == Status.REFUSED


def test_staff_without_change_permission_cannot_ask_for_a_change(client, owner):
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    client.force_login(legal)
    assert client.post(email_change_url(owner), {"new_email": NEW}).status_code == 403
    with pytest.raises(PermissionDenied):
        client_email_change_start(client=owner, new_email=NEW, started_by=legal)
    assert not EmailChangeRequest.objects.exists() and mail.outbox == []


def test_the_link_is_built_from_site_url_whatever_host_the_request_names(client, support_agent, owner, settings,
                                                                         django_capture_on_commit_callbacks):
    settings.ALLOWED_HOSTS, settings.SITE_URL = ["*"], "https://privacy.fulfillmen.example"
    client.force_login(support_agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(email_change_url(owner), {"new_email": NEW}, HTTP_HOST="attacker.example")
    [message] = mails_to(NEW)
    assert "https://privacy.fulfillmen.example/accounts/email/confirm/" in message.body
    assert "attacker.example" not in message.body


def test_an_affiliate_that_received_the_address_is_told_it_was_corrected(agent_asks, owner,
                                                                         django_capture_on_commit_callbacks):
    ads = make_affiliate("Ads Network")
    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(code="promotional-sharing"), fields=["email"],
                          client_ids=[owner.pk], api_key=None, request_id=uuid.uuid4(), at=timezone.now())
    agent_asks()
    confirm(link_path(NEW), capture=django_capture_on_commit_callbacks)
    notice = WithdrawalNotice.objects.get(client=owner, affiliate=ads)
    assert (notice.reason, notice.fields) == (WithdrawalNotice.Reason.RECTIFIED, ["email"])


# --- the client's own page --------------------------------------------------------------------------------------------

def test_the_client_asks_from_the_portal_with_their_password_and_confirms_by_the_link(
        client, owner, django_capture_on_commit_callbacks):
    client.force_login(owner.user)
    page = reverse("rights:email_change")
    assert f'href="{page}"' in client.get(reverse("rights:correct")).content.decode()
    wrong = client.post(page, {"new_email": NEW, "password": "not-my-password"})
    assert wrong.status_code == 400 and not EmailChangeRequest.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(page, {"new_email": NEW, "password": PASSWORD})
    assert asked.status_code == 302
    assert "from your account in the privacy portal" in mails_to(owner.email)[0].body
    assert "waiting" in client.get(page).content.decode() and owner.email == emails_of(owner)[0]

    assert confirm(link_path(NEW), capture=django_capture_on_commit_callbacks, browser=client).status_code == 200
    assert emails_of(owner) == (NEW, NEW)
    assert client.get(reverse("portal:dashboard")).status_code == 200  # the confirming session stays


def test_the_portal_page_refuses_the_current_address_and_an_invalid_one(client, owner):
    client.force_login(owner.user)
    page = reverse("rights:email_change")
    for bad in ("OWNER@example.com", "not an address", "a\x00b@example.com"):
        response = client.post(page, {"new_email": bad, "password": PASSWORD})
        assert response.status_code == 400 and response.context["form"].errors.get("new_email")
    assert not EmailChangeRequest.objects.exists() and mail.outbox == []


def test_the_mails_are_in_the_clients_preferred_language(support_agent, django_capture_on_commit_callbacks):
    zh = make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳",
                     preferred_language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        client_email_change_start(client=zh, new_email="zh.new@example.com", started_by=support_agent)
    for message in mails_to("zh.new@example.com") + mails_to("zh@example.com"):
        assert re.search(r"[\u4e00-\u9fff]", message.subject) and "Hello" not in message.body


def test_asking_too_often_is_refused(owner):
    for n in range(5):
        client_email_change_start(client=owner, new_email=f"n{n}@example.org", started_by=owner.user)
    with pytest.raises(ValidationError):
        client_email_change_start(client=owner, new_email="n5@example.org", started_by=owner.user)


def test_an_erasure_takes_the_asked_for_address_and_kills_a_waiting_link(owner, django_capture_on_commit_callbacks):
    from rights.erasure import erasure_perform, erasure_request

    with django_capture_on_commit_callbacks(execute=True):
        client_email_change_start(client=owner, new_email=NEW, started_by=owner.user)
    path = link_path(NEW)
    erasure = erasure_request(client=owner, actor=owner.user)
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        erasure_perform(request=erasure)
    change = EmailChangeRequest.objects.get()
    assert (change.new_email, change.token_digest, change.started_by) == ("", None, owner.user)  # who asked stays
    assert confirm(path).status_code == 400
    assert Browser().get(path).status_code == 400
