"""Consent receipts: Kantara Initiative Consent Receipt v1.1 field names, plus the ISO/IEC TS 27560 record
fields (record id, lawful basis, retention, storage location, withdrawal method, event time/type/state)."""

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext

from accounts.jurisdictions import storage_country, storage_location_label

from . import ledger
from .log_hooks import consent_log
from .models import Channel, ConsentAction, ConsentEvent, LegalBasis, RecipientClass
from .recipient_hooks import Recipient, recipients_for

_PURPOSE_CATEGORY = {"promotional-sharing": "Marketing - Third Party", "marketing-messages": "Marketing - Direct"}


def consent_record_retention() -> str:
    """How long consent records are kept, in the active language (receipts, "Your data")."""
    years = settings.CONSENT_RECORD_RETENTION_YEARS
    return ngettext("For as long as the account exists and %(years)d year after, as proof of consent.",
                    "For as long as the account exists and %(years)d years after, as proof of consent.", years) % {"years": years}


_WITHDRAWAL = "One click in the portal under “Your choices”, or an email or letter to the privacy team."


def _controller() -> dict:
    c = settings.PII_CONTROLLER
    return {"piiController": c["name"], "contact": c["contact"], "address": c["address"], "email": c["email"],
            "phone": c["phone"], "piiControllerUrl": settings.SITE_URL}


def _third_party(recipient: Recipient) -> dict:
    return {
        "name": recipient.name, "contact": recipient.contact_name, "email": recipient.contact_email,
        "address": recipient.address, "country": recipient.country, "countryName": recipient.country_name,
        "rightsContact": recipient.rights_contact,
        "crossBorderTransfer": {
            "abroad": recipient.abroad, "from": storage_country(), "to": recipient.country,
            "transferMechanism": recipient.transfer_mechanism if recipient.abroad else "",
            "transferMechanismLabel": recipient.transfer_mechanism_label if recipient.abroad else "",
            "transferMechanismReference": recipient.transfer_mechanism_reference if recipient.abroad else "",
            "separateConsent": recipient.abroad,
        },
    }


def consent_receipt(*, event: ConsentEvent) -> dict:
    """The receipt of one ledger event, in English whatever the page language (its `language` field names the
    client's). The caller has already checked that the requester may see it."""
    with translation.override("en"):
        return _receipt(event)


def _receipt(event: ConsentEvent) -> dict:
    purpose, client = event.purpose, event.client
    policy_path = (reverse("policy:version", args=[event.policy_version.label]) if event.policy_version
                   else reverse("policy:current"))
    third_party = purpose.recipient_class != RecipientClass.NONE
    recipient = recipients_for([purpose.pk]).get(purpose.pk) if purpose.parent_id else None
    return {
        "version": "KI-CR-v1.1.0",
        "jurisdiction": str(client.get_jurisdiction_display()),
        "consentTimestamp": int(event.occurred_at.timestamp()),
        "collectionMethod": str(Channel(event.channel).label),
        "consentReceiptID": str(event.receipt_id),
        "publicKey": "",
        "language": client.preferred_language,
        "piiPrincipalId": str(client.public_id),
        "piiControllers": [_controller()],
        "policyUrl": settings.SITE_URL + policy_path,
        "services": [{
            "service": "Fulfillmen cloud warehousing and shipping",
            "purposes": [{
                "purposeId": purpose.code,  # what the entry hash covers (ledgerEntry.purpose); the title may be reworded
                "purpose": purpose.title_en,
                "purposeCategory": [_PURPOSE_CATEGORY.get(purpose.code, "Core Function")],
                "consentType": "EXPLICIT" if event.channel != Channel.SIGNUP else "IMPLICIT",
                "piiCategory": list(recipient.data_categories) if recipient else purpose.data_categories,
                "primaryPurpose": False,
                "termination": _WITHDRAWAL if purpose.withdrawable else "Ends with the contract.",
                "thirdPartyDisclosure": third_party or recipient is not None,
                "thirdPartyName": (recipient.name if recipient else
                                   str(purpose.get_recipient_class_display()) if third_party else ""),
                # PIPL Art. 23 and 39: who the one recipient of this consent is and how to exercise rights against it.
                **({"thirdParty": _third_party(recipient), "parentPurposeId": purpose.parent.code} if recipient else {}),
            }],
        }],
        "sensitive": False,
        "spiCat": [],
        # ISO/IEC TS 27560 record fields
        "recordId": f"{client.public_id}#{event.sequence}",
        "lawfulBasis": str(LegalBasis(purpose.legal_basis).label),
        "retentionPeriod": str(consent_record_retention()),
        "storageLocation": storage_location_label(),
        "storageCountry": storage_country(),
        "withdrawalMethod": _WITHDRAWAL,
        "eventTime": event.occurred_at.isoformat(),
        "eventType": "consent given" if event.action == ConsentAction.GRANT else "consent withdrawn",
        "eventState": "active" if event.action == ConsentAction.GRANT else "withdrawn",
        "policyVersion": event.policy_version.label if event.policy_version else "",
        "entryHash": event.entry_hash,
        # Exactly what entryHash covers (personal values only as their salted digest): SHA-256 of its JSON with sorted
        # keys and no spaces is entryHash, so the fields above can be checked against it (tools/verify_receipt.py).
        "ledgerEntry": ledger.entry_document(
            client_public_id=client.public_id, sequence=event.sequence, receipt_id=event.receipt_id,
            purpose_code=purpose.code, action=event.action, channel=event.channel,
            policy_label=event.policy_version.label if event.policy_version else "", occurred_at=event.occurred_at,
            recorded_at=event.recorded_at, recorded_by_id=event.recorded_by_id, personal_digest=event.personal_digest,
            previous_hash=event.previous_hash),
        # The event's place in the public consent log and its proof (issue #17; tools/verify_receipt.py checks it).
        "transparencyLog": consent_log().receipt_part(event),
    }
