"""Issue #16, finding 1: a disclosure under a non-disclosure order leaks through no side door.

Two clients live the same life through the real services and the portal, at the same frozen moment: each gives
consent, is served to an affiliate over the API, is sent a policy notice by e-mail and SMS, asks for an export and
for erasure. One of them is the subject of an open disclosure whose notice is withheld (Legal has looked at it);
the other is under an ordinary legal-obligation hold. Every surface the client or an affiliate can see — every
portal page (each "Your data" category and its list, the receipts, the export ZIP's files), every e-mail and SMS,
every API answer about them — must be byte-identical between the two once their own names, addresses, numbers
and random identifiers are replaced by placeholders, in English and in Chinese. Identical output is also what
proves that no count, wording or date differs.

The catalogue's description of the legal-obligation purpose names "law enforcement or government officials" for
every client; identity with the control client is what shows those words carry no information here. The words
that only a disclosure would bring — its authority, reference, type and "legal request" — must not appear at all.
"""

import difflib
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Language
from accounts.services import staff_user_ensure
from amendments.services import policy_draft_save, policy_publish
from consent.models import ConsentEvent, Purpose
from consent.services import consent_record
from disclosures.models import Disclosure
from disclosures.services import disclosure_record
from notify import sms
from rights.export import export_request
from rights.holds import LEGAL_OBLIGATION_REASON
from rights.inventory import CATEGORIES
from rights.models import DataExport, DataSubjectRequest
from rights.services import legal_hold_set, request_reference
from sharing.services import affiliate_key_create
from tests.conftest import PASSWORD, make_client
from tests.sharing.conftest import bearer, make_affiliate

pytestmark = pytest.mark.django_db(transaction=True)

AUTHORITY, REFERENCE, GAG = "Shenzhen Public Security Bureau", "SZ-2026-0042", "Non-disclosure order 7"
NEVER_SHOWN = [AUTHORITY, REFERENCE, GAG, "legal request", "法律请求", "warrant", "搜查令", "Public Security", "公安"]
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
HEX_DIGEST = re.compile(r"\b[0-9a-f]{64}\b")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
CSP_NONCE = re.compile(r'nonce="[^"]+"')
# Same-length names, addresses and numbers, so sizes and layouts cannot differ because of them.
PEOPLE = {"withheld": ("Wanda Quill", "wanda.quill@example.com", "+49 151 23456781"),
          "ordinary": ("Laura Quill", "laura.quill@example.com", "+49 151 23456782")}


def _placeholders(client) -> list[tuple[str, str]]:
    """The client's own values, and the random or content-derived ones: request references, and the export ZIP's
    size (compression follows the names; the ZIP's files themselves are compared one by one)."""
    national = client.phone.replace("+49", "0")
    pairs = [(request_reference(r), "<request>") for r in DataSubjectRequest.objects.filter(client=client)]
    exports = [e for e in DataExport.objects.filter(client=client) if e.size]
    # As the page shows it too ("11.3 KB"): random salts and hashes in the receipts make the ZIP's compressed size
    # differ by a few bytes between any two clients, which can cross a rounding step.
    pairs += [(f">{e.size}<", "><size><") for e in exports] + [(filesizeformat(e.size), "<size>") for e in exports]
    pairs += [(client.full_name, "<name>"), (client.email, "<email>"), (client.phone, "<phone>"),
             (national, "<phone>"), (client.email.split("@")[0], "<mailbox>"), (str(client.public_id), "<client>"),
             (client.full_name.split()[0], "<first-name>")]
    return sorted(pairs, key=lambda p: -len(p[0]))


def normalise(text: str, client) -> str:
    text = UUID.sub("<uuid>", text)  # first: a request reference may also stand at the start of a UUID
    for value, placeholder in _placeholders(client):
        text = text.replace(value, placeholder)
    text = HEX_DIGEST.sub("<digest>", text)
    text = CSRF.sub('name="csrfmiddlewaretoken" value="<csrf>"', text)
    return CSP_NONCE.sub('nonce="<nonce>"', text)


def portal_urls(client) -> list[str]:
    urls = [reverse(name) for name in (
        "portal:dashboard", "consent:choices", "consent:history", "sharing:received", "rights:data", "rights:export",
        "rights:correct", "rights:object", "rights:erase", "rights:question_new", "rights:address_add")]
    urls += [reverse("rights:data_category", kwargs={"code": c.code}) for c in CATEGORIES]
    urls += [reverse("consent:receipt", kwargs={"receipt_id": e.receipt_id})
             for e in ConsentEvent.objects.filter(client=client).order_by("sequence")]
    return urls


def export_files(browser, client) -> dict[str, str]:
    export = DataExport.objects.filter(client=client, status=DataExport.Status.READY).get()
    response = browser.get(reverse("rights:export_download", kwargs={"public_id": export.public_id}))
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {f"export:{name}": archive.read(name).decode("utf-8-sig") for name in sorted(archive.namelist())}


def api_answers(api, key, client) -> dict[str, str]:
    answers = {}
    page = api.get(reverse("api:clients"), {"purpose": "promotional-sharing", "page_size": 100}, **bearer(key)).json()
    answers["api:clients"] = json.dumps([c for c in page["results"] if c["id"] == str(client.public_id)], sort_keys=True)
    one = api.get(reverse("api:client", kwargs={"public_id": client.public_id}),
                  {"purpose": "promotional-sharing"}, **bearer(key))
    answers["api:client"] = f"{one.status_code} {json.dumps(one.json(), sort_keys=True)}"
    since = (timezone.now() - timedelta(days=1)).isoformat()
    feed = api.get(reverse("api:withdrawals"), {"purpose": "promotional-sharing", "since": since}, **bearer(key)).json()
    answers["api:withdrawals"] = json.dumps([n for n in feed["results"] if n.get("client") == str(client.public_id)],
                                            sort_keys=True)
    return answers


def messages_to(client) -> dict[str, str]:
    emails = sorted(f"{m.subject}\n{m.body}" + "".join(f"\n{a[1]}" for a in getattr(m, "alternatives", []))
                    for m in mail.outbox if client.email in m.to)
    texts = sorted(m["body"] for m in sms.outbox if m["to"] == client.phone)
    return {**{f"email {i}": e for i, e in enumerate(emails)}, **{f"sms {i}": t for i, t in enumerate(texts)}}


def surfaces(client, browser, api_seen) -> dict[str, str]:
    seen = dict(api_seen)
    for url in portal_urls(client):
        response = browser.get(url)
        assert response.status_code == 200, url
        seen[url] = response.content.decode()
    seen.update(export_files(browser, client))
    seen.update(messages_to(client))
    return {UUID.sub("<uuid>", name): normalise(text, client) for name, text in seen.items()}


def live_the_same_life(client, *, browser, legal, hold) -> None:
    """What both clients do and undergo, in the same order, through the portal and the services."""
    promo = Purpose.objects.get(code="promotional-sharing")
    consent_record(client=client, purpose=promo, action="grant", channel="portal")
    hold(client)
    browser.force_login(client.user)
    assert browser.post(reverse("rights:erase"), {"password": PASSWORD}).status_code in (200, 302, 400)
    export_request(client=client)


@pytest.fixture
def world(settings, tmp_path, client):
    client_fixture = client
    settings.SMS_URL = "memory:"
    settings.MEDIA_ROOT = tmp_path / "media"
    sms.outbox.clear()

    def build(language):
        with time_machine.travel("2026-11-26 10:00 +0800", tick=False):
            legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
            people = {kind: make_client(email, full_name=name, phone=phone, preferred_language=language)
                      for kind, (name, email, phone) in PEOPLE.items()}
            ads = make_affiliate("Ads Network")
            _row, key = affiliate_key_create(affiliate=ads)
            draft = policy_draft_save(label="2026-12", body_en="# Policy\n\nNew recipients.", summary="New recipients.",
                                      is_material=True)
            policy_publish(version=draft, effective_at=timezone.now() + timedelta(days=31))

            def gag(client):
                disclosure = disclosure_record(
                    recorded_by=legal, clients=[client], authority_name=AUTHORITY, authority_country="CN",
                    authority_kind="police", request_type="warrant", reference_number=REFERENCE,
                    received_on=timezone.localdate(), categories_requested=["name", "phone"], withhold_reference=GAG,
                    withhold_until=timezone.localdate() + timedelta(days=90))
                legal_browser = type(client_fixture)()  # Legal works the request in the admin: a sealed look
                legal_browser.force_login(legal)
                page = legal_browser.get(reverse("admin:disclosures_disclosure_change", args=[disclosure.pk]))
                assert page.status_code == 200 and AUTHORITY in page.content.decode()

            def ordinary_hold(client):
                legal_hold_set(client=client, reason="", keep_until=None, actor=legal)

            browsers = {}
            for kind, hold in (("withheld", gag), ("ordinary", ordinary_hold)):
                browsers[kind] = type(client)(HTTP_ACCEPT_LANGUAGE=language)
                live_the_same_life(people[kind], browser=browsers[kind], legal=legal, hold=hold)
            api = {kind: api_answers(type(client)(), key, people[kind]) for kind in people}  # both served first
            transcripts = {kind: surfaces(people[kind], browsers[kind], api[kind]) for kind in people}
        return people, transcripts

    return build


@pytest.mark.parametrize("language", [Language.EN, Language.ZH_HANS])
def test_a_client_under_a_withheld_disclosure_sees_exactly_what_a_client_under_an_ordinary_hold_sees(world, language):
    people, transcripts = world(language)
    withheld, ordinary = transcripts["withheld"], transcripts["ordinary"]
    assert Disclosure.objects.get().is_withheld()
    assert any("email" in name for name in withheld) and any("sms" in name for name in withheld)
    assert any(name.startswith("export:") for name in withheld) and any(name.startswith("api:") for name in withheld)
    with translation.override(language):
        hold_text = str(LEGAL_OBLIGATION_REASON)
    assert hold_text in withheld[reverse("rights:erase")], "the erase page shows the hold it refuses for"
    assert sorted(withheld) == sorted(ordinary), "the same surfaces exist for both"
    for name in withheld:
        if withheld[name] != ordinary[name]:
            diff = "\n".join(difflib.unified_diff(ordinary[name].splitlines(), withheld[name].splitlines(),
                                                  "ordinary hold", "withheld disclosure", lineterm="", n=1))
            pytest.fail(f"{name} differs for the client under a withheld disclosure:\n{diff[:4000]}")
    for name, text in withheld.items():
        for word in NEVER_SHOWN:
            assert word.lower() not in text.lower(), f"{word!r} in {name}"
