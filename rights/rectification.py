"""Rectification (GDPR Art. 16, PIPL Art. 46): a client corrects their name, phone and addresses in the portal, or
staff correct them on the client's admin page (`client_corrected`, accounts/corrections.py) and the client is told.

The values are validated exactly as at sign-up and in the admin (accounts' services and model validation). Each
changed field leaves a Rectification row with salted digests of the old and new values — the old value is gone,
and not kept in clear anywhere — and every affiliate that received that field about the client gets a
`rectified` notice in its API feed, in the same transaction (GDPR Art. 19).
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.corrections import ADDRESS, ADDRESS_FIELDS, client_corrected
from accounts.corrections import address_value as _address_value
from accounts.email_change import client_email_changed
from accounts.models import Address, Client, User
from accounts.services import address_add as accounts_address_add
from accounts.services import client_update
from consent import ledger
from consent.models import DataCategory
from sharing.services import rectified_notices_create

from .models import DataSubjectRequest, Rectification
from .services import _email_send, request_address, request_close, request_open

IDENTITY_FIELDS = ("full_name", "phone")
STAFF_CHANNELS = {DataSubjectRequest.Channel.EMAIL, DataSubjectRequest.Channel.LETTER, DataSubjectRequest.Channel.PHONE}
# What an affiliate received (SharingRecord.fields, DataCategory codes) for each field a client can correct.
CATEGORY_OF_FIELD = {"full_name": DataCategory.NAME, "phone": DataCategory.PHONE, ADDRESS: DataCategory.SHIPPING_ADDRESS}
FIELD_LABELS = {"full_name": gettext_lazy("full name"), "phone": gettext_lazy("phone number"),
                ADDRESS: gettext_lazy("address")}


def _refuse_erased(client: Client) -> None:
    if client.erased_at is not None:
        raise ValidationError(_("This client's data was erased; there is nothing left to correct."))


def _locked(client: Client) -> Client:
    """The client's row, locked: two corrections at once each see the other's result as their old value."""
    locked = Client.objects.select_for_update().get(pk=client.pk)
    _refuse_erased(locked)
    return locked


def _record(*, client: Client, changes: list[tuple[str, object, object]], actor: User | None,
            channel: str) -> list[Rectification]:
    return _record_and_count(client=client, changes=changes, actor=actor, channel=channel)[0]


def _record_and_count(*, client: Client, changes: list[tuple[str, object, object]], actor: User | None,
                      channel: str) -> tuple[list[Rectification], int]:
    """Log the request (completed at once), one Rectification per changed field, and tell the recipients.
    Returns the rows and how many `rectified` notices went to affiliates."""
    labels = ", ".join(dict.fromkeys(str(FIELD_LABELS[field]) for field, _old, _new in changes))
    request = request_open(kind=DataSubjectRequest.Kind.RECTIFICATION, channel=channel, client=client)
    request_close(request=request, status=DataSubjectRequest.Status.COMPLETED,
                  outcome=_("Corrected: %(fields)s.") % {"fields": labels}, actor=actor)
    rows = []
    for field, old, new in changes:
        # One fresh salt per row, as the ledger does per event. Rectification has no column for it yet, so nobody
        # (not even we) can test a guess against these digests: they prove that a value changed, never what it was.
        salt = ledger.new_salt()
        rows.append(Rectification(client=client, field=field, by=actor, request=request,
                                  old_digest=ledger.salted_digest(salt=salt, field=field, value=old),
                                  new_digest=ledger.salted_digest(salt=salt, field=field, value=new)))
    Rectification.objects.bulk_create(rows)
    notices = rectified_notices_create(client=client, categories={CATEGORY_OF_FIELD[field] for field, _o, _n in changes},
                                       at=timezone.now())
    return rows, notices


@receiver(client_corrected, dispatch_uid="rights.staff_correction_recorded")
def staff_correction_recorded(sender, *, client: Client, changes: list, actor: User, channel: str, **kwargs) -> None:
    """A correction staff made on the client's admin page (accounts/corrections.py) is recorded as the portal's are —
    a completed rectification request, a Rectification with digests per field, a `rectified` notice to every
    affiliate that received the field (GDPR Art. 19) — and the client is e-mailed what was corrected (GDPR Art.
    12(3)), in the admin's transaction."""
    if channel not in STAFF_CHANNELS:
        raise ValueError(f"a staff correction cannot come through the channel {channel!r}")
    if client.erased_at is not None:
        return  # nothing of the person is left to correct or to tell
    locked = _locked(client)
    rows, notices = _record_and_count(client=locked, changes=changes, actor=actor, channel=channel)
    if any(field == ADDRESS for field, _old, _new in changes):
        _client_touched(locked)
    request = rows[0].request
    if not request_address(request):
        return
    with translation.override(locked.preferred_language):
        fields = ", ".join(dict.fromkeys(str(FIELD_LABELS[field]) for field, _old, _new in changes))
        text = _("On %(date)s our staff corrected the following data of your account, as you asked (%(channel)s): "
                 "%(fields)s.") % {"date": formats.date_format(timezone.localdate(), "DATE_FORMAT"),
                                  "channel": request.get_channel_display(), "fields": fields}
        if notices:
            text += "\n\n" + _("The companies that received these data from us have been told to update their copy.")
        text += "\n\n" + _("If you did not ask for this correction, reply to this e-mail.")
        _email_send(request=request, kind="dsr-staff-correction", subject=_("Your data was corrected"), text=text,
                    actor=actor)


@transaction.atomic
def client_rectify(*, client: Client, changes: dict, actor: User | None,
                   channel: str = DataSubjectRequest.Channel.PORTAL) -> list[Rectification]:
    """Correct the client's full name and/or phone, validated as at sign-up (the phone read in the client's
    country, stored in E.164). Returns the Rectification rows; none when the values were already these."""
    unknown = set(changes) - set(IDENTITY_FIELDS)
    if unknown:
        raise ValueError(f"client_rectify cannot change {sorted(unknown)}")
    locked = _locked(client)
    before = {field: getattr(locked, field) for field in changes}
    with transaction.atomic():
        client_update(client=locked, **changes)  # raises ValidationError per field, before anything is written
        changed = [(field, before[field], getattr(locked, field)) for field in changes
                   if getattr(locked, field) != before[field]]
        if not changed:  # the same values again: no write, so `updated_since` feeds see no change either
            transaction.set_rollback(True)
    if not changed:
        locked.refresh_from_db()
    for field in IDENTITY_FIELDS + ("updated_at",):
        setattr(client, field, getattr(locked, field))
    return _record(client=locked, changes=changed, actor=actor, channel=channel) if changed else []


@receiver(client_email_changed, dispatch_uid="rights.email_rectified")
def email_rectified(sender, *, client: Client, old_email: str, new_email: str, actor: User | None, **kwargs) -> None:
    """A confirmed change of e-mail address (accounts/email_change.py) is a correction like the others: a
    Rectification with digests only, and a `rectified` notice to every affiliate that received the address (GDPR
    Art. 19), in the confirming transaction. Its request record is the EmailChangeRequest itself."""
    salt = ledger.new_salt()
    Rectification.objects.create(client=client, field="email", by=actor,
                                 old_digest=ledger.salted_digest(salt=salt, field="email", value=old_email),
                                 new_digest=ledger.salted_digest(salt=salt, field="email", value=new_email))
    rectified_notices_create(client=client, categories={DataCategory.EMAIL}, at=timezone.now())


def _client_touched(client: Client) -> None:
    """An address is part of the client as affiliates receive it: `updated_since` must find the client again."""
    Client.objects.filter(pk=client.pk).update(updated_at=timezone.now())


@transaction.atomic
def address_add(*, client: Client, actor: User | None, channel: str = DataSubjectRequest.Channel.PORTAL,
                **fields) -> Address:
    """Complete the client's data with an address (GDPR Art. 16: "to have incomplete personal data completed")."""
    locked = _locked(client)
    address = accounts_address_add(client=locked, **fields)
    _client_touched(locked)
    _record(client=locked, changes=[(ADDRESS, "", _address_value(address))], actor=actor, channel=channel)
    return address


def address_of_client(*, client: Client, address_id: int, lock: bool = False) -> Address:
    """One of the client's own addresses; any other id is Address.DoesNotExist (a 404 in the portal)."""
    addresses = Address.objects.filter(client=client)
    return (addresses.select_for_update() if lock else addresses).get(pk=address_id)


@transaction.atomic
def address_rectify(*, client: Client, address_id: int, actor: User | None,
                    channel: str = DataSubjectRequest.Channel.PORTAL, **fields) -> list[Rectification]:
    """Correct one of the client's addresses, validated like every address (the model's rules, as in the admin).
    Returns the Rectification row; none when the address was already this."""
    unknown = set(fields) - set(ADDRESS_FIELDS)
    if unknown:
        raise ValueError(f"address_rectify cannot change {sorted(unknown)}")
    locked = _locked(client)
    address = address_of_client(client=locked, address_id=address_id, lock=True)
    old = _address_value(address)
    for name, value in fields.items():
        setattr(address, name, (value or "").upper() if name == "country" else value)
    address.full_clean()
    if _address_value(address) == old:
        return []
    address.save()
    _client_touched(locked)
    return _record(client=locked, changes=[(ADDRESS, old, _address_value(address))], actor=actor, channel=channel)


@transaction.atomic
def address_remove(*, client: Client, address_id: int, actor: User | None,
                   channel: str = DataSubjectRequest.Channel.PORTAL) -> None:
    """Remove one of the client's addresses; affiliates that received it are told to refresh or delete it."""
    locked = _locked(client)
    address = address_of_client(client=locked, address_id=address_id, lock=True)
    old = _address_value(address)
    address.delete()
    _client_touched(locked)
    _record(client=locked, changes=[(ADDRESS, old, "")], actor=actor, channel=channel)
