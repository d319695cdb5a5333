"""Consent per recipient (PIPL Art. 23; GDPR Art. 7): a client consents to each named affiliate separately, a new
affiliate never inherits the consent given to the others, every per-recipient consent is a ledger event with a
receipt naming the recipient, and the affiliate API serves a client only to the recipients it was given to."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from consent.receipts import consent_receipt
from consent.services import consent_record
from notify.models import OutboundMessage
from sharing.models import RecipientConsent, SharingAgreement, SharingRecord, WithdrawalNotice
from sharing.services import affiliate_key_create, agreement_create
from tests.conftest import make_client
from tools.verify_receipt import verify_content

from .conftest import bearer, make_affiliate

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/"
PROMO = "promotional-sharing"


def promo():
    return Purpose.objects.get(code=PROMO)


def consent_purpose(affiliate, code=PROMO) -> Purpose:
    return RecipientConsent.objects.get(affiliate=affiliate, purpose__code=code).consent_purpose


def state(client, purpose):
    return ConsentState.objects.select_related("last_event").get(client=client, purpose=purpose)


def served(browser, affiliate, code=PROMO):
    key = affiliate_key_create(affiliate=affiliate)[1]
    response = browser.get(CLIENTS, {"purpose": code}, **bearer(key))
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


def californian(n=0):
    return make_client(f"ca{n}@example.com", country="US", region="US-CA", phone="+14155552671", full_name=f"Cal {n}")


def in_portal(browser, client, code, action):
    browser.force_login(client.user)
    return browser.post(reverse("consent:change", args=[code]), {"action": action})


def test_each_agreement_for_a_consent_purpose_gets_its_own_consent_purpose_naming_the_recipient():
    ads = make_affiliate("Ads Network")
    child = consent_purpose(ads)
    assert child.parent == promo() and child.code == "promotional-sharing--ads-network"
    assert "Ads Network" in child.title_en and "Ads Network" in child.title_zh_hans
    assert (child.opted_out_by_gpc, child.is_marketing, child.withdrawable, child.transfer_outside_china) == (
        True, True, True, True)  # Hong Kong is outside mainland China
    assert child.data_categories == ["email", "ip_address"]


def test_consent_to_one_affiliate_does_not_extend_to_a_new_affiliate_for_opt_in_clients(client):
    ads = make_affiliate("Ads Network")
    eu = make_client("eu@example.com", country="DE")
    consent_record(client=eu, purpose=consent_purpose(ads), action=ConsentAction.GRANT, channel=Channel.PORTAL)
    consent_record(client=eu, purpose=promo(), action=ConsentAction.GRANT, channel=Channel.PORTAL)
    loyalty = make_affiliate("Loyalty Club", country="CN", fields=("email",))
    new = state(eu, consent_purpose(loyalty))
    assert new.granted is False and new.last_event.channel == Channel.SIGNUP  # a provable default, not silence
    assert served(client, ads) == {str(eu.public_id)}
    assert served(client, loyalty) == set()
    assert not SharingRecord.objects.filter(affiliate=loyalty).exists()


def test_a_new_affiliate_follows_the_opt_out_rule_except_for_clients_who_withdrew_from_all_recipients(client):
    kept, withdrew = californian(1), californian(2)
    make_affiliate("Ads Network")
    consent_record(client=withdrew, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    loyalty = make_affiliate("Loyalty Club", country="CN", fields=("email",))
    assert state(kept, consent_purpose(loyalty)).granted is True
    assert state(withdrew, consent_purpose(loyalty)).granted is False
    assert served(client, loyalty) == {str(kept.public_id)}


def test_a_client_gives_one_affiliate_and_refuses_another_and_only_the_one_receives_them(client):
    ads, loyalty = make_affiliate("Ads Network"), make_affiliate("Loyalty Club", country="CN", fields=("email",))
    eu, outsider = make_client("eu@example.com", country="DE"), make_client("out@example.com", country="FR")
    response = in_portal(client, eu, consent_purpose(ads).code, "grant")
    assert response.status_code == 302
    assert state(eu, consent_purpose(ads)).granted and not state(eu, consent_purpose(loyalty)).granted
    assert served(client, ads) == {str(eu.public_id)}  # the outsider gave nobody anything
    assert served(client, loyalty) == set()
    detail = client.get(f"{CLIENTS}{eu.public_id}/", {"purpose": PROMO},
                        **bearer(affiliate_key_create(affiliate=loyalty)[1]))
    assert detail.status_code == 404  # the other affiliate cannot even tell the client exists
    assert not SharingRecord.objects.filter(client=outsider).exists()


def test_withdrawing_one_recipient_sends_the_withdrawal_notice_to_that_recipient_only(client):
    ca = californian()
    ads, loyalty = make_affiliate("Ads Network"), make_affiliate("Loyalty Club", country="CN", fields=("email",))
    served(client, ads), served(client, loyalty)
    in_portal(client, ca, consent_purpose(ads).code, "withdraw")
    assert list(WithdrawalNotice.objects.values_list("affiliate__name", "purpose__code", "reason")) == [
        ("Ads Network", PROMO, WithdrawalNotice.Reason.CONSENT_WITHDRAWN)]
    assert served(client, ads) == set() and served(client, loyalty) == {str(ca.public_id)}


def test_withdrawing_the_purpose_withdraws_every_recipient_in_one_click_each_a_ledger_event(client, mailoutbox):
    ca = californian()
    ads, loyalty = make_affiliate("Ads Network"), make_affiliate("Loyalty Club", country="CN", fields=("email",))
    served(client, ads), served(client, loyalty)
    client.force_login(ca.user)
    page = client.get(reverse("consent:choices")).content.decode()
    assert "Withdraw consent from every recipient: Promotional sharing with affiliated companies</button>" in page
    in_portal(client, ca, PROMO, "withdraw")
    withdrawn = ConsentEvent.objects.filter(client=ca, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    assert sorted(withdrawn.values_list("purpose__code", flat=True)) == [
        PROMO, consent_purpose(ads).code, consent_purpose(loyalty).code]
    assert not ConsentState.objects.filter(client=ca, purpose__in=[consent_purpose(ads), consent_purpose(loyalty)],
                                           granted=True).exists()
    notices = sorted(WithdrawalNotice.objects.values_list("affiliate__name", "purpose__code"))
    assert notices == [("Ads Network", PROMO), ("Loyalty Club", PROMO)]  # each holder told once
    assert OutboundMessage.objects.filter(client=ca, kind="consent-receipt").count() == 1  # one click, one receipt e-mail
    call_command("verify_ledger")


def test_a_gpc_signal_opts_out_of_every_sale_and_sharing_recipient(client):
    ca = californian()
    ads, loyalty = make_affiliate("Ads Network"), make_affiliate("Loyalty Club", country="CN", fields=("email",))
    client.force_login(ca.user)
    client.get(reverse("portal:dashboard"), HTTP_SEC_GPC="1")
    gpc = ConsentEvent.objects.filter(client=ca, channel=Channel.GPC)
    assert {consent_purpose(ads).code, consent_purpose(loyalty).code} <= set(gpc.values_list("purpose__code", flat=True))
    assert served(client, ads) == set() and served(client, loyalty) == set()


def test_the_choices_screen_names_each_recipient_its_contact_address_country_data_and_rights(client):
    ads = make_affiliate("Ads Network")
    loyalty = make_affiliate("Loyalty Club", country="CN", fields=("email",))
    eu = make_client("eu@example.com", country="DE")
    client.force_login(eu.user)
    page = client.get(reverse("consent:choices")).content.decode()
    for affiliate in (ads, loyalty):
        assert affiliate.name in page and affiliate.contact_email in page and affiliate.address in page
        assert affiliate.rights_contact in page
    assert "Hong Kong" in page and "Mainland China" in page
    assert "PIPL standard contract filed with the CAC" in page and ads.transfer_mechanism_reference in page
    assert f"Give consent: {consent_purpose(ads).title}</button>" in page
    assert f"Give consent: {consent_purpose(loyalty).title}</button>" in page
    # Never all recipients in one click: the purpose itself offers no "give" button once it names recipients.
    assert 'action="/portal/choices/promotional-sharing/"' not in page
    zh = client.get(reverse("consent:choices"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "接收方：您对每个接收方分别作出同意或拒绝" in zh and "香港" in zh and "中国大陆" in zh


def test_receipt_names_the_recipient_its_contact_country_and_how_to_exercise_rights(client):
    ads = make_affiliate("Ads Network")
    eu = make_client("eu@example.com", country="DE")
    in_portal(client, eu, consent_purpose(ads).code, "grant")
    event = ConsentEvent.objects.filter(client=eu).latest("sequence")
    response = client.get(reverse("consent:receipt", args=[event.receipt_id]))
    receipt = json.loads(response.content)
    [purpose] = receipt["services"][0]["purposes"]
    assert purpose["purposeId"] == consent_purpose(ads).code and purpose["parentPurposeId"] == PROMO
    assert purpose["thirdPartyDisclosure"] is True and purpose["thirdPartyName"] == "Ads Network"
    assert purpose["piiCategory"] == ["email", "ip_address"]
    third = purpose["thirdParty"]
    assert (third["name"], third["email"], third["address"], third["country"], third["rightsContact"]) == (
        "Ads Network", ads.contact_email, ads.address, "HK", ads.rights_contact)
    assert third["crossBorderTransfer"] == {
        "abroad": True, "from": "CN", "to": "HK", "transferMechanism": "pipl-standard-contract",
        "transferMechanismLabel": "PIPL standard contract filed with the CAC",
        "transferMechanismReference": ads.transfer_mechanism_reference, "separateConsent": True}
    assert receipt["storageCountry"] == "CN" and receipt["storageLocation"] == "Mainland China (CN)"
    verify_content(receipt)  # the recipient is proven: the ledger hashed the per-recipient purpose's code


def test_defaults_for_a_new_recipient_are_ledger_events_that_the_ledger_and_the_public_log_verify(tmp_path):
    from tests.consent_log.test_receipt_verification import download_receipt, run_verifier
    from transparency_log.checkpoints import checkpoint_publish

    clients = [californian(n) for n in range(3)] + [make_client("eu@example.com", country="DE")]
    ads = make_affiliate("Ads Network")  # the four clients' defaults for it, set-based
    events = ConsentEvent.objects.filter(purpose=consent_purpose(ads), channel=Channel.SIGNUP)
    assert events.count() == 4
    assert sorted(events.values_list("action", flat=True)) == ["grant"] * 3 + ["withdraw"]
    call_command("verify_ledger")
    checkpoint_publish()
    result = run_verifier(download_receipt(clients[0], events.get(client=clients[0])), tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_client_signing_up_later_gets_a_default_for_each_recipient():
    ads = make_affiliate("Ads Network")
    ca, eu = californian(), make_client("eu@example.com", country="DE")
    assert state(ca, consent_purpose(ads)).granted is True and state(eu, consent_purpose(ads)).granted is False


def test_a_new_agreement_cannot_widen_what_clients_consented_a_recipient_receives():
    ads = make_affiliate("Ads Network", fields=("email",))
    with pytest.raises(ValidationError, match="needs their consent again"):
        agreement_create(affiliate=ads, purpose=promo(), fields=["email", "ip_address"], valid_from=timezone.now())
    agreement_create(affiliate=ads, purpose=promo(), fields=["email"], valid_from=timezone.now())
    assert SharingAgreement.objects.filter(affiliate=ads).count() == 2 and RecipientConsent.objects.count() == 1


def test_the_sync_command_is_safe_to_run_again_and_fills_a_missing_default():
    ads = make_affiliate("Ads Network")
    ca = californian()
    ConsentState.objects.filter(client=ca, purpose=consent_purpose(ads)).delete()  # as if it signed up meanwhile
    call_command("recipient_consents_sync")
    call_command("recipient_consents_sync")
    assert ConsentEvent.objects.filter(client=ca, purpose=consent_purpose(ads)).count() == 2
    assert state(ca, consent_purpose(ads)).granted is True
    assert consent_receipt(event=state(ca, consent_purpose(ads)).last_event)["services"][0]["purposes"][0][
        "thirdPartyName"] == "Ads Network"


def test_a_default_rule_naming_the_purpose_applies_to_each_of_its_recipients():
    """The privacy officer's rule for promotional sharing (data, not code) decides its new recipients' defaults too."""
    from consent.models import ConsentDefaultRule
    from consent.services import consent_default_rule_save

    consent_default_rule_save(rule=ConsentDefaultRule(jurisdiction="us-ca", purpose=promo(), granted_by_default=False,
                                                      note="Opt-in for promotional sharing"))
    ca = californian()
    ads = make_affiliate("Ads Network")
    assert state(ca, consent_purpose(ads)).granted is False
