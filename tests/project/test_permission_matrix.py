"""The permission matrix (issue #10): every URL of the URLconf and every admin page against every role, with the
outcome each role should get written down once, below. A URL pattern without an entry here fails the suite.

Outcomes: 200 (or another status code), "login" (redirect to the portal log-in), "admin-login" (redirect to the admin
log-in), "admin" (a client page sends staff to the admin index), "redirect" (any other redirect), "ok" (a POST with an
empty form that a role may send: a form with errors or a redirect, anything below 500). A 5xx is never right.
Besides the outcome: no page an outsider gets (anonymous, client B, affiliate B, an expired key) shows client A's data,
no page a support agent or client A gets names the authority of a withheld disclosure, a read-only change page offers
no save button, and only affiliate A can acknowledge affiliate A's withdrawal notice.
A privacy officer whose session lacks the second factor (TOTP) counts as not logged in to the admin, as staff elsewhere.
The admin's expectations are written from each role's duties (accounts/roles.py and the apps' staff-permission
migrations), never computed from the permission system while testing.
"""

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as Browser
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.access_log import Action, staff_access_record
from accounts.jurisdictions import Jurisdiction
from accounts.models import Address, SignupAgeRule, StaffAccess
from accounts.services import address_add, staff_user_ensure
from accounts.two_factor import staff_totp_device_ensure
from amendments.services import notice_period, policy_draft_save, policy_publish
from breaches.services import breach_record, breach_subjects_select
from consent.models import ConsentDefaultRule, ConsentEvent, ConsentState, Purpose
from consent.services import consent_record
from disclosures.services import disclosure_document_add, disclosure_record
from notify.models import OutboundMessage
from oversight.panels import PANELS
from processing.models import ImpactAssessment
from rights.agents import agent_request_submit
from rights.appeals import appeal_open
from rights.erasure import erasure_request
from rights.export import export_request
from rights.inventory import CATEGORIES
from rights.models import DataSubjectRequest, Rectification, ResponseDeadlineRule
from rights.services import legal_hold_set, request_close, request_open
from sharing.models import ApiKey, PartnerEngagement, SharingRecord, WithdrawalNotice
from sharing.services import affiliate_key_create, sharing_records_write, wms_key_create
from tests.conftest import PASSWORD, make_client, password_only_force_login
from tests.sharing.conftest import bearer, engage, make_affiliate, recipient_purpose
from tests.transfers.conftest import acquirer_recipient
from transfers.services import transfer_publish, transfer_record
from transparency_log.checkpoints import checkpoint_publish
from webhooks import events as webhook_events
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.secrets import secret_encrypt, secret_generate
from webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "client_a", "client_b", "support", "privacy", "legal", "affiliate_a", "affiliate_b", "expired_key",
         "privacy_no_2fa"]  # a privacy officer whose session passed the password but not the second factor
STAFF = ("support", "privacy", "legal")
CLIENTS = ("client_a", "client_b")
KEYS = ("affiliate_a", "affiliate_b", "expired_key")  # browsers that send an API key and no session
OUTSIDERS = ("anonymous", "client_b", "affiliate_b", "expired_key")  # nothing of client A may reach them
# Support agents never see disclosures to authorities, nor do outsiders; while its notice is withheld, a disclosure
# is Legal's alone: neither client A nor a privacy officer finds it anywhere (issue #16).
NO_DISCLOSURES = ("support", "privacy", "client_a", *OUTSIDERS)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


# --- the small world ------------------------------------------------------------------------------------------------

@dataclass
class World:
    owner: object
    outsider: object
    users: dict = field(default_factory=dict)     # role -> User (session roles)
    keys: dict = field(default_factory=dict)      # role -> API key (key roles)
    ids: dict = field(default_factory=dict)       # what the URLs are built from
    secrets: list = field(default_factory=list)   # client A's data: never in a page an outsider gets
    disclosure_secrets: list = field(default_factory=list)  # who asked, under which reference: Legal's, not support's


@pytest.fixture
def world(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    owner = make_client()
    outsider = make_client("outsider@example.com", country="FR", phone="+33 6 12 34 56 78", full_name="Outside Person")
    support = staff_user_ensure(email="support@example.com", password=PASSWORD, groups=["Support agents"])
    privacy = staff_user_ensure(email="privacy@example.com", password=PASSWORD, groups=["Privacy officers"])
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    ads = make_affiliate("Ads Network")
    dropship = make_affiliate("Dropship Partner", purpose="order-fulfilment", fields=("name", "phone"), country="CN")
    key_row, key_a = affiliate_key_create(affiliate=ads)
    key_b = affiliate_key_create(affiliate=dropship)[1]
    [engagement] = engage(dropship, [outsider])  # client B's order, routed to affiliate B
    wms_key = wms_key_create(name="WMS production")[0]  # no role holds a WMS key: the internal API is nobody's here
    expired_row, key_expired = affiliate_key_create(affiliate=ads, expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=expired_row.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    promo = Purpose.objects.get(code="promotional-sharing")

    address = address_add(client=owner, kind=Address.Kind.RESIDENTIAL, line1="Hauptstr. 1", city="Berlin", postcode="10115",
                          country="DE")
    v1 = policy_draft_save(label="2026-01", body_en="# Policy\n\nFirst.", summary="First version.")
    v1 = policy_publish(version=v1, now=timezone.now() - notice_period(material=False), effective_at=timezone.now())
    v2 = policy_draft_save(label="2026-02", body_en="# Policy\n\nSecond.", summary="A draft.")
    erasure = erasure_request(client=owner, actor=owner.user)
    export = export_request(client=owner)
    dsr = request_open(kind=DataSubjectRequest.Kind.ACCESS, channel=DataSubjectRequest.Channel.EMAIL, client=owner,
                       details="What do you hold about me?")
    hold = legal_hold_set(client=outsider, reason="Parcel dispute, claim pending", keep_until=None, actor=legal)
    # An authorised agent's request for client A (its signed permission: privacy officers only), and client A's
    # refused request, appealed (privacy officers decide appeals; the one who refused may not).
    agent_dsr = agent_request_submit(agent_name="Alex Agent", agent_email="alex@agency.example", client_name="Owner",
                                     client_email=owner.email, kind="access", details="",
                                     permission=SimpleUploadedFile("p.pdf", PDF, content_type="application/pdf"))
    refused_dsr = request_close(request=request_open(kind="access", channel="portal", client=owner),
                                status=DataSubjectRequest.Status.REFUSED, refusal_reason="Not ours.", actor=support)
    appeal = appeal_open(request=refused_dsr, grounds="Please look again.", channel="portal", client=owner)[0]
    disclosure = disclosure_record(recorded_by=legal, clients=[owner], authority_name="Shenzhen Public Security Bureau",
                                   authority_country="CN", authority_kind="police", request_type="warrant",
                                   reference_number="SZ-2026-0042", received_on=date(2026, 11, 20),
                                   categories_requested=["name"], withhold_reference="Non-disclosure order 7",
                                   withhold_until=timezone.localdate() + timedelta(days=90))
    withheld_document = disclosure_document_add(disclosure=disclosure, kind="request",
                                                upload=SimpleUploadedFile("w.pdf", PDF, content_type="application/pdf"),
                                                uploaded_by=legal)
    withheld, disclosure = disclosure, disclosure_record(  # the world's disclosure: one whose notice nobody withholds
        recorded_by=legal, clients=[owner], authority_name="Guangzhou Customs", authority_country="CN",
        authority_kind="tax-customs", request_type="regulatory", reference_number="GZ-2026-0007",
        received_on=date(2026, 11, 21), categories_requested=["name"])
    document = disclosure_document_add(disclosure=disclosure, kind="request",
                                       upload=SimpleUploadedFile("v.pdf", PDF, content_type="application/pdf"),
                                       uploaded_by=legal)
    sharing_records_write(affiliate=ads, purpose=promo, fields=["email"], client_ids=[owner.pk], api_key=key_row,
                          request_id=uuid.uuid4(), at=timezone.now())
    # Affiliate A's webhook endpoint (issue #19): its secret is never in any answer but the one that made it.
    webhook, webhook_secret = endpoint_create(affiliate=ads, url="https://93.184.215.14/hooks", events=["consent.withdrawn"])
    notice = WithdrawalNotice.objects.create(affiliate=ads, client=owner, purpose=promo, reason="consent-withdrawn",
                                             fields=["email"], occurred_at=timezone.now())
    consent_record(client=owner, purpose=recipient_purpose(ads), action="grant", channel="portal")  # per recipient
    rule = ConsentDefaultRule.objects.create(jurisdiction=Jurisdiction.values[0], purpose=promo,
                                             granted_by_default=False, note="Matrix")
    rectification = Rectification.objects.create(client=owner, field="full_name", old_digest="0" * 64, new_digest="1" * 64)
    staff_access_record(staff=privacy, client_ids=[owner.pk], action=Action.VIEW_LIST, fields=["email"], path="/admin/")
    # Business transfers: a draft (the admin's object) and one announced to clients living in Germany — client A, not B.
    # The acquirer is in Hong Kong, so recorded first as a business-transfer recipient with its transfer mechanism and
    # an approved impact assessment (PIPL Art. 38, 55).
    transfer_values = dict(kind="acquisition", acquirer_name="Harbour Logistics", acquirer_contact_name="Mei Chan",
                           affiliate=acquirer_recipient("Harbour Logistics"),
                           acquirer_contact_email="privacy@harbour.example", acquirer_address="1 Harbour Road",
                           acquirer_country="HK", data_categories=["name", "email"],
                           objection_deadline=timezone.localdate() + timedelta(days=30),
                           handover_on=timezone.localdate() + timedelta(days=31))
    transfer_draft = transfer_record(recorded_by=privacy, **transfer_values)
    announced = transfer_publish(transfer=transfer_record(recorded_by=privacy, scope_countries=["DE"], **transfer_values),
                                 approver=legal)
    message = OutboundMessage.objects.filter(client=owner).first()
    breach = breach_record(recorded_by=privacy, title="Stolen laptop", discovered_at=timezone.now() - timedelta(hours=3),
                           categories=["name", "email"], nature="A laptop was stolen.", consequences="Phishing.",
                           measures="Disk encrypted; passwords reset.", dpo_contact="DPO, dpo@example.com")
    breach_subjects_select(breach=breach, actor=privacy, scope="client-list", client_text=str(owner.public_id))

    attempt = AccessAttempt.objects.create(username="x", ip_address="10.0.0.1", user_agent="t", path_info="/admin/login/",
                                           http_accept="*/*", get_data="", post_data="", failures_since_start=1)
    access_log = AccessLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t", path_info="/", http_accept="*/*")
    failure_log = AccessFailureLog.objects.create(username="x", ip_address="10.0.0.1", user_agent="t", path_info="/",
                                                  http_accept="*/*", locked_out=False)
    device = staff_totp_device_ensure(privacy)
    event = ConsentEvent.objects.filter(client=owner).order_by("pk").first()
    # A webhook endpoint of affiliate A (made directly: its host need not resolve here) and a test event's delivery.
    endpoint = WebhookEndpoint.objects.create(affiliate=ads, url="https://hooks.ads.example/fulfillmen",
                                              events=["consent.withdrawn"], secret_encrypted=secret_encrypt(secret_generate()))
    webhook_delivery = WebhookDelivery.objects.get(event=webhook_events.test_event_send(endpoint=endpoint))
    objects = {
        "auth.group": Group.objects.get(name="Legal").pk, "axes.accessattempt": attempt.pk, "axes.accesslog": access_log.pk,
        "axes.accessfailurelog": failure_log.pk, "accounts.client": owner.pk, "accounts.user": owner.user_id,
        "otp_totp.totpdevice": device.pk, "accounts.staffaccess": StaffAccess.objects.filter(client=owner).first().pk,
        "notify.outboundmessage": message.pk, "amendments.policyversion": v2.pk,
        "amendments.noticedelivery": v1.deliveries.filter(client=owner).first().pk, "consent.purpose": promo.pk,
        "consent.consentdefaultrule": rule.pk, "consent.consentevent": event.pk,
        "accounts.signupagerule": SignupAgeRule.objects.get(jurisdiction="cn").pk,
        "consent.consentstate": ConsentState.objects.filter(client=owner).first().pk, "sharing.affiliate": ads.pk,
        "sharing.apikey": key_row.pk, "sharing.sharingrecord": SharingRecord.objects.get(client=owner).pk,
        "sharing.withdrawalnotice": notice.pk,
        "sharing.partnerengagement": engagement.pk, "sharing.wmskey": wms_key.pk,
        "disclosures.disclosure": disclosure.pk, "rights.datasubjectrequest": dsr.pk,
        "rights.legalhold": hold.pk, "rights.responsedeadlinerule": ResponseDeadlineRule.objects.first().pk,
        "rights.dataexport": export.pk, "rights.rectification": rectification.pk, "rights.requestappeal": appeal.pk,
        "transfers.businesstransfer": transfer_draft.pk,
        "breaches.breach": breach.pk,
        "processing.impactassessment": ImpactAssessment.objects.filter(recipient=ads).get().pk,
        "webhooks.webhookendpoint": endpoint.pk, "webhooks.webhookdelivery": webhook_delivery.pk,
    }
    ids = dict(
        receipt=event.receipt_id, label=v1.label, address=address.pk, export=export.public_id, erasure=erasure.public_id,
        category=CATEGORIES[0].code, purpose=promo.code, client_public_id=owner.public_id, policy_v1=v1.pk,
        policy_draft=v2.pk, event=event.pk, agreement=ads.agreements.first().pk, disclosure=disclosure.pk,
        withheld=withheld.pk, withheld_document=withheld_document.pk,
        disclosure_type=ContentType.objects.get_for_model(disclosure).pk, draft_label=v2.label,
        outsider_public_id=outsider.public_id, document=document.pk, dsr=dsr.pk, hold=hold.pk, agent_dsr=agent_dsr.pk,
        refused_dsr=refused_dsr.public_id,
        notice=notice.public_id, objects=objects, transfer=announced.public_id, transfer_draft=transfer_draft.pk,
        transfer_announced=announced.pk, objects_partner=dropship.public_id,
        webhook=webhook.public_id,
        log_size=checkpoint_publish().tree_size,  # the public consent log, with every event of this world in it
    )
    return World(owner=owner, outsider=outsider,
                 users={"client_a": owner.user, "client_b": outsider.user, "support": support, "privacy": privacy,
                        "legal": legal},
                 keys={"affiliate_a": key_a, "affiliate_b": key_b, "expired_key": key_expired}, ids=ids,
                 disclosure_secrets=[withheld.reference_number, withheld.authority_name],
                 secrets=[owner.email, owner.full_name, str(owner.public_id), address.line1, str(event.receipt_id),
                          webhook_secret])


# --- the table: public, portal and API URLs -------------------------------------------------------------------------

def expect(anonymous, *, a=None, b=None, staff=None, keys=None, **roles):
    """One outcome per role: clients default to `a` (client B to client A's), staff and key holders to anonymous's."""
    a = anonymous if a is None else a
    out = {"anonymous": anonymous, "client_a": a, "client_b": a if b is None else b}
    out.update({role: anonymous if staff is None else staff for role in STAFF})
    out.update({role: anonymous if keys is None else keys for role in KEYS})
    out.update(roles)
    return out


PUBLIC = expect(200)
SIGNED_IN_AWAY = expect(200, a="redirect", staff="redirect")        # a log-in form: a signed-in user is sent on


def portal(a=200, b=None):
    """A client page: anonymous (and an API key, which is no log-in) to the log-in page, staff to the admin."""
    return expect("login", a=a, b=b, staff="admin")


def api(a=200, b=403):
    """The affiliate API: a key of an affiliate in force, nothing else (a portal or admin session is no key)."""
    return expect(401, a=401, staff=401, affiliate_a=a, affiliate_b=b, expired_key=401)


def oversight(privacy=200):
    return expect("admin-login", privacy=privacy, support=403, legal=403)


@dataclass(frozen=True)
class Row:
    expected: dict
    kwargs: object = None            # ids -> kwargs for reverse()
    method: str = "GET"
    query: object = None             # ids -> query string parameters
    path: str = ""                   # for an unnamed pattern: the path to request
    json: object = None              # ids -> a JSON body to POST


# Entry key: the URL pattern's name (namespaced), or its route when unnamed; "<name> <case>" is one more case of it.
API_QUERY = lambda i: {"purpose": i["purpose"], "since": "2026-01-01T00:00:00Z"}  # noqa: E731  affiliate A's purpose

URLS = {
    "home": Row(PUBLIC),
    "healthz": Row(PUBLIC),
    "readyz": Row(PUBLIC),
    "signup": Row(SIGNED_IN_AWAY),
    "signup_sent": Row(PUBLIC),
    "signup_confirm": Row(expect(400), kwargs=lambda i: {"token": "not-a-token"}),   # an unknown link, for everyone
    "signup_guardian": Row(expect(400), kwargs=lambda i: {"token": "not-a-token"}),  # the guardian's link: the same
    "login": Row(SIGNED_IN_AWAY),
    "email_change_confirm": Row(expect(400), kwargs=lambda i: {"token": "not-a-token"}),  # an unknown link, for all
    "logout": Row(expect("redirect"), method="POST"),
    "password_change": Row(expect("login", a=200, staff=200)),
    "password_change_done": Row(expect("login", a=200, staff=200)),
    "password_reset": Row(PUBLIC),
    "password_reset_done": Row(PUBLIC),
    "password_reset_confirm": Row(PUBLIC, kwargs=lambda i: {"uidb64": "MQ", "token": "set-password"}),
    "password_reset_complete": Row(PUBLIC),
    "consent:choices": Row(portal()),
    "consent:history": Row(portal()),
    "consent:receipt": Row(portal(b=404), kwargs=lambda i: {"receipt_id": i["receipt"]}),
    "consent:policy_answer": Row(portal(a=404), kwargs=lambda i: {"label": i["label"]}),  # v1 asks no answer
    "consent:change": Row(portal(a="ok"), method="POST", kwargs=lambda i: {"code": i["purpose"]}),
    # "Do Not Sell or Share" (CCPA 1798.135): public; the one button is a client's own; the form answers anyone alike.
    "consent:do_not_sell": Row(PUBLIC),
    "consent:do_not_sell_withdraw": Row(portal(a="redirect"), method="POST"),
    "consent:do_not_sell_request": Row(expect(400), method="POST"),  # an empty form: refused, for everyone
    "consent:do_not_sell_sent": Row(PUBLIC),
    "consent:do_not_sell_confirm": Row(expect(400), kwargs=lambda i: {"token": "not-a-token"}),
    "sharing:received": Row(portal()),
    "rights:data": Row(portal()),
    "rights:data_category": Row(portal(), kwargs=lambda i: {"code": i["category"]}),
    "rights:export": Row(portal()),
    "rights:export_download": Row(portal(a="redirect", b=404), kwargs=lambda i: {"public_id": i["export"]}),  # building
    "rights:export_download unknown": Row(portal(a=404), kwargs=lambda i: {"public_id": uuid.UUID(int=1)}),
    "rights:correct": Row(portal()),
    "rights:email_change": Row(portal()),
    "rights:address_add": Row(portal()),
    "rights:address_edit": Row(portal(b=404), kwargs=lambda i: {"address_id": i["address"]}),
    "rights:address_remove": Row(portal(b=404), kwargs=lambda i: {"address_id": i["address"]}),
    "rights:object": Row(portal()),
    "rights:erase": Row(portal()),
    "rights:erase_cancel": Row(portal(a="redirect", b=404), method="POST", kwargs=lambda i: {"public_id": i["erasure"]}),
    "rights:public_request_new": Row(PUBLIC),
    "rights:public_request_sent": Row(PUBLIC),
    "rights:public_request_verify": Row(expect(400), kwargs=lambda i: {"token": "not-a-token"}),
    "rights:question_new": Row(portal()),
    # The client's answer to an agent and the appeal link: an unknown link, for everyone. A client's request page
    # (client A's refused, appealed request) exists for client A only.
    "rights:agent_confirm": Row(expect(400), kwargs=lambda i: {"token": "not-a-token"}),
    "rights:appeal_by_link": Row(expect(400), kwargs=lambda i: {"token": "not-a-token"}),
    "rights:request_detail": Row(portal(b=404), kwargs=lambda i: {"public_id": i["refused_dsr"]}),
    "rights:request_appeal": Row(portal(a="ok", b=404), method="POST", kwargs=lambda i: {"public_id": i["refused_dsr"]}),
    # A business transfer announced to client A: client B is not concerned, so for B its pages do not exist.
    "transfers:list": Row(portal()),
    "transfers:detail": Row(portal(b=404), kwargs=lambda i: {"public_id": i["transfer"]}),
    "transfers:object": Row(portal(a="ok", b=404), method="POST", kwargs=lambda i: {"public_id": i["transfer"]}),
    "transfers:consent": Row(portal(a="ok", b=404), method="POST", kwargs=lambda i: {"public_id": i["transfer"]}),
    "portal:dashboard": Row(portal()),
    "policy:current": Row(PUBLIC),
    "policy:versions": Row(PUBLIC),
    "policy:markdown": Row(PUBLIC, kwargs=lambda i: {"label": i["label"]}),
    "policy:version": Row(PUBLIC, kwargs=lambda i: {"label": i["label"]}),
    "policy:markdown draft": Row(expect(404), kwargs=lambda i: {"label": i["draft_label"]}),   # a draft is not public
    "policy:version draft": Row(expect(404), kwargs=lambda i: {"label": i["draft_label"]}),
    "policy:diff": Row(PUBLIC),
    "cookies": Row(PUBLIC),
    "transparency:report": Row(PUBLIC),
    "transparency:csv": Row(PUBLIC),
    # The public consent log (issue #17): the same answer for everyone, no log-in, no key.
    "consent_log:about": Row(PUBLIC),
    "consent_log:checkpoint": Row(PUBLIC),
    "consent_log:key": Row(PUBLIC),
    "consent_log:checkpoints": Row(PUBLIC, query=lambda i: {"size": i["log_size"]}),
    "consent_log:checkpoints unpublished": Row(expect(404), query=lambda i: {"size": i["log_size"] + 1}),
    "consent_log:inclusion": Row(PUBLIC, query=lambda i: {"index": i["log_size"] - 1, "size": i["log_size"]}),
    "consent_log:inclusion beyond": Row(expect(400), query=lambda i: {"index": i["log_size"], "size": i["log_size"]}),
    "consent_log:consistency": Row(PUBLIC, query=lambda i: {"from": i["log_size"], "to": i["log_size"]}),
    "consent_log:verifier": Row(PUBLIC),
    "api:clients": Row(api(), query=API_QUERY),
    "api:client": Row(api(), query=API_QUERY, kwargs=lambda i: {"public_id": i["client_public_id"]}),
    # Client B never agreed to promotional sharing: not even the affiliate whose agreement covers it gets B.
    "api:client outsider": Row(api(a=404), query=API_QUERY, kwargs=lambda i: {"public_id": i["outsider_public_id"]}),
    "api:withdrawals": Row(api(), query=API_QUERY),
    "api:withdrawals-ack": Row(api(a=200, b=200), method="POST", json=lambda i: {"ids": [str(i["notice"])]}),  # see below
    "api:agreement": Row(api(b=200)),
    # Webhook endpoints (issue #19): each affiliate its own; affiliate A's endpoint does not exist for affiliate B.
    "api:webhook-endpoints": Row(api(b=200)),
    "api:webhook-endpoint": Row(api(b=404), kwargs=lambda i: {"endpoint_id": i["webhook"]}),
    "api:webhook-endpoint-rotate": Row(api(b=404), method="POST", json=lambda i: {},
                                       kwargs=lambda i: {"endpoint_id": i["webhook"]}),
    "api:webhook-endpoint-test": Row(api(a=202, b=404), method="POST", json=lambda i: {},
                                     kwargs=lambda i: {"endpoint_id": i["webhook"]}),
    "api:webhook-event-types": Row(api(b=200)),
    # Fulfillmen's WMS records engagements with a WMS key: an affiliate's key is refused (403), anyone else 401.
    "wms:engagements": Row(expect(401, affiliate_a=403, affiliate_b=403), method="POST", json=lambda i: {
        "partner": str(i["objects_partner"]), "client": str(i["client_public_id"]), "order_reference": "SO-MATRIX",
        "started_at": "2026-01-01T00:00:00Z"}),
    "api-schema": Row(PUBLIC),
    "api-docs": Row(PUBLIC),
    "set_language": Row(expect("redirect"), method="POST"),
    "oversight:dashboard": Row(oversight()),
    "oversight:panel_csv": Row(oversight(), kwargs=lambda i: {"slug": "consent-rates"}),
    **{f"oversight:panel_csv {slug}": Row(oversight(), kwargs=lambda i, slug=slug: {"slug": slug})
       for slug in PANELS if slug != "consent-rates"},
    "oversight:panel_csv unknown": Row(oversight(privacy=404), kwargs=lambda i: {"slug": "no-such-panel"}),
    # The admin site's own pages (the model pages are in ADMIN_MODELS below).
    "admin:index": Row(expect("admin-login", staff=200)),
    "admin:login": Row(expect(200, staff="admin", privacy_no_2fa=200)),        # without the second factor: asked for it
    "admin:logout": Row(expect("admin", staff="redirect", privacy_no_2fa="admin"), method="POST"),
    "admin:password_change": Row(expect("admin-login", staff=200)),
    "admin:password_change_done": Row(expect("admin-login", staff=200)),
    "admin:autocomplete": Row(expect("admin-login", staff=200), query=lambda i: {
        "app_label": "accounts", "model_name": "address", "field_name": "client", "term": "Owner"}),
    # Autocomplete answers with another admin's records: only to who may view that admin (support: no disclosures).
    "admin:autocomplete disclosures": Row(expect("admin-login", staff=200, support=403), query=lambda i: {
        "app_label": "disclosures", "model_name": "disclosuresubject", "field_name": "disclosure", "term": "SZ"}),
    "admin:jsi18n": Row(expect("admin-login", staff=200)),
    # Any staff member may follow "view on site", so it must lead nowhere for a record without a public page.
    "admin:view_on_site": Row(expect("admin-login", staff=404), kwargs=lambda i: {
        "content_type_id": i["disclosure_type"], "object_id": i["disclosure"]}),
    "admin:app_list": Row(expect("admin-login", staff=200), kwargs=lambda i: {"app_label": "accounts"}),
    "admin:app_list breaches": Row(expect("admin-login", staff=200, support=404), kwargs=lambda i: {"app_label": "breaches"}),
    "admin:app_list disclosures": Row(expect("admin-login", staff=200, support=404),
                                      kwargs=lambda i: {"app_label": "disclosures"}),
    "admin/(?P<url>.*)$": Row(expect("admin-login", staff=404), path="/admin/no-such-page/"),
}


# --- the table: admin pages -----------------------------------------------------------------------------------------

# Per registered model, what each staff role may do in the admin — v view, a add, c change (the world's object),
# d delete — as the roles' duties give it (accounts/roles.py and each app's staff-permission migration). A role not
# named may do nothing there (403). Anonymous visitors, clients and API keys always end at the admin log-in page.
ADMIN_MODELS = {
    "auth.group": {},                                                   # superusers only
    "axes.accessattempt": {}, "axes.accesslog": {}, "axes.accessfailurelog": {},
    "otp_totp.totpdevice": {},                                          # enrolled by `manage.py staff_totp_enrol`
    "accounts.client": {"privacy": "vac", "support": "vc", "legal": "v"},
    "accounts.user": {"privacy": "v"},
    "accounts.staffaccess": {"privacy": "v"},                           # the access log: read, never written here
    "notify.outboundmessage": {},                                       # no role reads the outbox
    "amendments.policyversion": {"privacy": "vac", "support": "v", "legal": "v"},     # the world's object: a draft
    "amendments.noticedelivery": {"privacy": "v", "support": "v", "legal": "v"},
    "consent.purpose": {"privacy": "vc", "support": "v", "legal": "v"},
    "consent.consentdefaultrule": {"privacy": "vacd", "legal": "v"},
    "accounts.signupagerule": {"privacy": "vacd", "legal": "v"},       # sign-up's age rules (issue #18.12)
    "consent.consentevent": {"privacy": "v", "support": "v", "legal": "v"},         # the ledger: append-only
    "consent.consentstate": {"privacy": "v", "support": "v", "legal": "v"},
    "sharing.affiliate": {"privacy": "vac", "support": "v", "legal": "v"},
    "sharing.apikey": {"privacy": "va"},                               # never edited: revoked from the list
    "sharing.sharingrecord": {"privacy": "v", "support": "v", "legal": "v"},
    "sharing.withdrawalnotice": {"privacy": "v", "legal": "v"},
    "sharing.partnerengagement": {"privacy": "vac", "support": "v", "legal": "v"},  # never deleted: feeds depend on it
    "sharing.wmskey": {"privacy": "v"},                                # made by create_wms_key, revoked from the list
    "disclosures.disclosure": {"legal": "vac", "privacy": "v"},         # support agents never see disclosures
    "rights.datasubjectrequest": {"privacy": "vac", "support": "vac", "legal": "v"},
    "rights.legalhold": {"privacy": "va", "legal": "va", "support": "v"},   # a hold is never edited, only released
    "rights.responsedeadlinerule": {"privacy": "vc"},
    "rights.dataexport": {"privacy": "v"},
    "rights.rectification": {"privacy": "v", "support": "v"},
    "rights.requestappeal": {"privacy": "v", "support": "v", "legal": "v"},  # read-only; decided on its own page
    "transfers.businesstransfer": {"privacy": "vac", "legal": "vac"},  # support agents never see business transfers
    "breaches.breach": {"privacy": "vac", "legal": "v"},               # support agents never see breaches
    # Impact assessments (issue #18.7): written by privacy officers, approved by another officer or Legal; the
    # world's assessment is approved, so it is read-only for everyone.
    "processing.impactassessment": {"privacy": "va", "legal": "v"},
    # Webhooks (issue #19): partner managers (not a role of this matrix) work them; privacy officers and Legal read.
    "webhooks.webhookendpoint": {"privacy": "v", "legal": "v"},
    "webhooks.webhookdelivery": {"privacy": "v", "legal": "v"},
}


def staff_only(**allowed):
    """A custom admin page: the staff roles named get their outcome, other staff 403, everyone else the log-in."""
    return {**expect("admin-login", staff=403), **allowed}


OBJ = "object_id"
RECORD = staff_only(privacy=200, legal=200)  # the record of processing: no client data, but not support agents' duty
ADMIN_CUSTOM = {
    "processing:record": Row(RECORD),
    "processing:record_file": Row(RECORD, kwargs=lambda i: {"language": "en", "fmt": "html"}),
    **{f"processing:record_file {language} {fmt}": Row(RECORD, kwargs=lambda i, language=language, fmt=fmt: {
        "language": language, "fmt": fmt}) for language in ("en", "zh-hans") for fmt in ("html", "csv")
       if (language, fmt) != ("en", "html")},
    "processing:record_file unknown": Row(staff_only(privacy=404, legal=404),
                                          kwargs=lambda i: {"language": "fr", "fmt": "pdf"}),
    # The world's assessment is approved already: who may approve is sent back to it, everyone else refused.
    "admin:processing_impactassessment_approve": Row(staff_only(privacy="redirect", legal="redirect"),
                                                     kwargs=lambda i: {OBJ: i["objects"]["processing.impactassessment"]}),
    "admin:amendments_policyversion_publish": Row(staff_only(privacy=200), kwargs=lambda i: {OBJ: i["policy_draft"]}),
    "admin:amendments_policyversion_deliveries": Row(staff_only(privacy=200, support=200, legal=200),
                                                     kwargs=lambda i: {OBJ: i["policy_v1"]}),
    "admin:amendments_policyversion_deliveries_resend": Row(staff_only(privacy="ok"), method="POST",
                                                            kwargs=lambda i: {OBJ: i["policy_v1"]}),
    "admin:consent_consentevent_record": Row(staff_only(privacy=200, support=200)),
    "admin:consent_consentevent_import": Row(staff_only(privacy=200)),
    "admin:consent_consentevent_evidence": Row(staff_only(privacy=404, support=404, legal=404),  # no scan kept
                                               kwargs=lambda i: {OBJ: i["event"]}),
    "admin:sharing_partnerengagement_import": Row(staff_only(privacy=200)),
    "admin:sharing_affiliate_agreement_end": Row(staff_only(privacy=200), kwargs=lambda i: {"agreement_id": i["agreement"]}),
    "admin:disclosures_disclosure_submit": Row(staff_only(legal=200), kwargs=lambda i: {OBJ: i["disclosure"]}),
    # The world's disclosure is only recorded: Legal is sent back to the record for these steps, others refused.
    **{f"admin:disclosures_disclosure_{step}": Row(staff_only(legal="redirect"), kwargs=lambda i: {OBJ: i["disclosure"]})
       for step in ("approve", "reject", "disclose")},
    "admin:disclosures_disclosure_note_add": Row(staff_only(legal="ok"), method="POST",
                                                 kwargs=lambda i: {OBJ: i["disclosure"]}),
    "admin:disclosures_disclosure_document_add": Row(staff_only(legal="ok"), method="POST",
                                                     kwargs=lambda i: {OBJ: i["disclosure"]}),
    "admin:disclosures_disclosure_document": Row(staff_only(legal=200, privacy=200),
                                                 kwargs=lambda i: {OBJ: i["disclosure"], "document_id": i["document"]}),
    # A withheld disclosure is Legal's alone: a privacy officer is answered as for an id that does not exist.
    "admin:disclosures_disclosure_change withheld": Row(staff_only(legal=200, privacy="admin"),
                                                        kwargs=lambda i: {OBJ: i["withheld"]}),
    "admin:disclosures_disclosure_history withheld": Row(staff_only(legal=200, privacy="admin"),
                                                         kwargs=lambda i: {OBJ: i["withheld"]}),
    "admin:disclosures_disclosure_change unknown": Row(staff_only(legal="admin", privacy="admin"),
                                                       kwargs=lambda i: {OBJ: 10**9}),
    "admin:disclosures_disclosure_document withheld": Row(staff_only(legal=200, privacy=404), kwargs=lambda i: {
        OBJ: i["withheld"], "document_id": i["withheld_document"]}),
    # The breach register: privacy officers work a breach, Legal reads it and its notice and client list.
    **{f"admin:breaches_breach_{step}": Row(staff_only(privacy=200), kwargs=lambda i: {OBJ: i["objects"]["breaches.breach"]})
       for step in ("select", "authority", "notice_request", "close")},
    # Nothing prepared yet: the approval step sends the privacy officer back to the record.
    "admin:breaches_breach_notice_send": Row(staff_only(privacy="redirect"),
                                             kwargs=lambda i: {OBJ: i["objects"]["breaches.breach"]}),
    "admin:breaches_breach_note_add": Row(staff_only(privacy="ok"), method="POST",
                                          kwargs=lambda i: {OBJ: i["objects"]["breaches.breach"]}),
    "admin:breaches_breach_notice": Row(staff_only(privacy=200, legal=200),
                                        kwargs=lambda i: {OBJ: i["objects"]["breaches.breach"]}),
    "admin:breaches_breach_subjects_csv": Row(staff_only(privacy=200, legal=200),
                                              kwargs=lambda i: {OBJ: i["objects"]["breaches.breach"]}),
    **{f"admin:rights_datasubjectrequest_{step}": Row(staff_only(privacy=200, support=200), kwargs=lambda i: {OBJ: i["dsr"]})
       for step in ("reply", "note", "extend", "close", "pause")},
    # The request is open and not paused: nothing to restart, so the page sends staff back to the request.
    "admin:rights_datasubjectrequest_resume": Row(staff_only(privacy="redirect", support="redirect"),
                                                  kwargs=lambda i: {OBJ: i["dsr"]}),
    # The agent's signed permission: privacy officers only; an appeal is decided by privacy officers (not its refuser).
    "admin:rights_datasubjectrequest_agent_permission": Row(staff_only(privacy=200),
                                                            kwargs=lambda i: {OBJ: i["agent_dsr"]}),
    "admin:rights_requestappeal_decide": Row(staff_only(privacy=200),
                                             kwargs=lambda i: {OBJ: i["objects"]["rights.requestappeal"]}),
    "admin:auth_user_password_change": Row(staff_only(), kwargs=lambda i: {"id": i["objects"]["accounts.user"]}),
    "admin:otp_totp_totpdevice_config": Row(staff_only(), kwargs=lambda i: {"pk": i["objects"]["otp_totp.totpdevice"]}),
    "admin:otp_totp_totpdevice_qrcode": Row(staff_only(), kwargs=lambda i: {"pk": i["objects"]["otp_totp.totpdevice"]}),
    # The world's hold was set by Legal: Legal releases it (a privacy officer releases holds not set by Legal).
    "admin:rights_legalhold_release": Row(staff_only(legal=200), kwargs=lambda i: {OBJ: i["hold"]}),
    # Asking for a client's new e-mail address (applied only by the client's link): who may change clients.
    # Business transfers: the draft was recorded by the privacy officer (Legal may announce it; the page tells the
    # recorder why not); the announced one takes objections, cannot be handed over before its deadline, has no file.
    "admin:transfers_businesstransfer_publish": Row(staff_only(privacy=200, legal=200),
                                                    kwargs=lambda i: {OBJ: i["transfer_draft"]}),
    "admin:transfers_businesstransfer_objection_add": Row(staff_only(privacy=200, legal=200),
                                                          kwargs=lambda i: {OBJ: i["transfer_announced"]}),
    "admin:transfers_businesstransfer_hand_over": Row(staff_only(privacy="redirect", legal="redirect"),
                                                      kwargs=lambda i: {OBJ: i["transfer_announced"]}),
    "admin:transfers_businesstransfer_handover_download": Row(staff_only(privacy=404, legal=404), kwargs=lambda i: {
        OBJ: i["transfer_announced"], "file_format": "csv"}),
    # Rotating, testing, enabling, disabling, deleting an endpoint and redelivering: partner managers only.
    "admin:webhooks_webhookendpoint_step": Row(staff_only(), kwargs=lambda i: {
        OBJ: i["objects"]["webhooks.webhookendpoint"], "step_name": "rotate"}),
    "admin:webhooks_webhookdelivery_redeliver": Row(staff_only(), method="POST",
                                                    kwargs=lambda i: {OBJ: i["objects"]["webhooks.webhookdelivery"]}),
    "admin:accounts_client_email_change": Row(staff_only(privacy=200, support=200),
                                              kwargs=lambda i: {OBJ: i["objects"]["accounts.client"]}),
}

def admin_rows():
    """ADMIN_MODELS expanded to the URL kinds of each model's admin: entry key -> Row."""
    rows = {}
    for label, duties in ADMIN_MODELS.items():
        info = label.replace(".", "_")

        def per_role(letters, yes=200, duties=duties):
            return staff_only(**{role: yes for role, ops in duties.items() if set(letters) & set(ops)})

        def obj(i, label=label):
            return {OBJ: i["objects"][label]}

        rows[f"admin:{info}_changelist"] = Row(per_role("vc"))
        rows[f"admin:{info}_add"] = Row(per_role("a"))
        rows[f"admin:{info}_change"] = Row(per_role("vc"), kwargs=obj)
        rows[f"admin:{info}_change POST"] = Row(per_role("c", "ok"), kwargs=obj, method="POST")
        rows[f"admin:{info}_history"] = Row(per_role("vc"), kwargs=obj)
        rows[f"admin:{info}_delete"] = Row(per_role("d"), kwargs=obj)
        # /admin/<app>/<model>/<id>/ only forwards staff to the change page, which then decides.
        rows[f"admin/{label.replace('.', '/')}/<path:object_id>/"] = Row(
            expect("admin-login", staff="redirect"), path=f"/admin/{label.replace('.', '/')}/{{id}}/")
    return rows


def view_only(key, role):
    """A change page this role may only read: it must render without a save button."""
    if not (key.startswith("admin:") and key.endswith("_change")):
        return False
    label = key[len("admin:"):-len("_change")]
    for model, duties in ADMIN_MODELS.items():
        if model.replace(".", "_") == label:
            ops = duties.get(role, "")
            return "v" in ops and "c" not in ops
    return False


# --- the URLconf ----------------------------------------------------------------------------------------------------

def url_patterns(resolver=None, prefix="", namespace=None):
    """(entry key, route) for every pattern: the namespaced name, or the route of an unnamed one."""
    for p in (resolver or get_resolver()).url_patterns:
        if isinstance(p, URLResolver):
            ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from url_patterns(p, prefix + str(p.pattern), ns)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            yield (f"{namespace}:{p.name}" if namespace else p.name) if p.name else route, route


def table():
    return {**URLS, **ADMIN_CUSTOM, **admin_rows()}


def test_every_url_pattern_and_admin_model_has_an_entry_in_the_table():
    entries = table()
    missing = sorted(f"{key}  ({route})" for key, route in url_patterns() if key not in entries)
    assert not missing, "URL patterns without an entry in the permission matrix:\n" + "\n".join(missing)
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS), (
        f"admin models without a row: {sorted(registered - set(ADMIN_MODELS))}; "
        f"rows without a model: {sorted(set(ADMIN_MODELS) - registered)}")
    stale = sorted({key.split(" ")[0] for key in entries} - {key for key, _ in url_patterns()})
    assert not stale, f"entries for URL patterns that no longer exist: {stale}"


# --- running it -----------------------------------------------------------------------------------------------------

LOGOUTS = {"logout", "admin:logout"}


def outcome(response):
    if response.status_code in (301, 302, 303, 307, 308):
        path = urlsplit(response["Location"]).path
        if path.startswith(reverse("admin:login")):
            return "admin-login"
        if path.startswith(reverse("login")):
            return "login"
        return "admin" if path == reverse("admin:index") else "redirect"
    return response.status_code


def matches(actual, expected):
    if expected == "ok":  # a POST a role may send, with an empty form: refused as invalid or done, never forbidden
        return actual in (200, 400, "redirect", "admin")
    return actual == expected


def expected_for(row, role):
    """The table's outcome; without the second factor a staff session is no admin session, elsewhere it is staff's."""
    if role == "privacy_no_2fa" and role not in row.expected:
        return "admin-login" if row.expected["anonymous"] == "admin-login" else row.expected["privacy"]
    return row.expected[role]


def browser_for(world, role):
    browser = Browser(**bearer(world.keys[role])) if role in world.keys else Browser()
    if role == "privacy_no_2fa":
        password_only_force_login(browser, world.users["privacy"])
    elif role in world.users:
        browser.force_login(world.users[role])
    return browser


def request_path(key, row, ids):
    if row.path:
        objects = ids["objects"]
        label = row.path.split("/")[2] + "." + row.path.split("/")[3] if "{id}" in row.path else None
        return row.path.format(id=objects[label]) if label else row.path
    return reverse(key.split(" ")[0], kwargs=row.kwargs(ids) if row.kwargs else None)


def check(world, browser, role, key, row):
    """The outcome for one (entry, role), or a description of what is wrong; None when right."""
    path = request_path(key, row, world.ids)
    query = row.query(world.ids) if row.query else {}
    if row.json:
        response = browser.post(path, row.json(world.ids), content_type="application/json")
    elif row.method == "POST":
        response = browser.post(path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""), {})
    else:
        response = browser.get(path, query)
    actual, expected = outcome(response), expected_for(row, role)
    if isinstance(actual, int) and actual >= 500:
        return f"{row.method} {path} as {role}: {actual} (a server error is never right)"
    if not matches(actual, expected):
        return f"{row.method} {path} [{key}] as {role}: got {actual!r}, expected {expected!r}"
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if actual == 200 and view_only(key, role) and b'name="_save"' in body:
        return f"{row.method} {path} [{key}] as {role}: a read-only role is offered a save button"
    secrets = (world.secrets if role in OUTSIDERS else []) + (world.disclosure_secrets if role in NO_DISCLOSURES else [])
    shown = [secret for secret in secrets if secret.encode() in body]
    if shown:
        return f"{row.method} {path} [{key}] as {role}: shows {shown}"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says_on_every_url(world, role):
    browser = browser_for(world, role)
    wrong = []
    for key, row in table().items():
        problem = check(world, browser, role, key, row)
        if problem:
            wrong.append(problem)
        if key in LOGOUTS:
            browser = browser_for(world, role)
    if role != "affiliate_a":  # only the affiliate a withdrawal notice is addressed to can acknowledge it
        assert WithdrawalNotice.objects.get(public_id=world.ids["notice"]).acknowledged_at is None
    assert not PartnerEngagement.objects.filter(order_reference="SO-MATRIX").exists()  # nobody here may record one
    assert not wrong, f"{len(wrong)} outcome(s) differ from the permission matrix:\n" + "\n".join(wrong)
