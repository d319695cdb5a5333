"""Changing a client's e-mail address, which is also their login (issue #16.5): verified, never set by staff.

Whoever starts a change — the client in the portal (password re-entered) or a support agent in the admin — only
asks for it. A link goes to the new address and a notice to the old one; the change is applied when the link is
opened and confirmed with the account's password (or, for a client without a login, confirmed from the new address
alone). So a support agent cannot move an account to an address they read and then reset its password: the link
proves the new address, the password proves the account holder. The token is kept only as a SHA-256 digest;
every link is built from SITE_URL, never from the request's Host.

A confirmed change writes the new address to the client and the login in one transaction, ends the sessions made
with the old address (the session hash covers the address, accounts.models.User) and sends `client_email_changed`,
so that the apps above record it as a correction and tell the recipients of the address (GDPR Art. 19).
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from .models import Client, EmailChangeRequest, User
from .services import _client_fields_save, _email_taken

Status = EmailChangeRequest.Status
VALID_FOR = timedelta(hours=48)
MAX_PER_DAY = 5  # changes asked for one client in 24 hours: each one e-mails an address somebody typed

# Sent inside the confirming transaction with client (updated), old_email, new_email, actor (the login that
# confirmed, or None for a client without one) and change.
client_email_changed = Signal()


class EmailChangeLinkError(Exception):
    """The link cannot be used. `reason`: "invalid" (unknown, altered or erased), "used", "replaced", "refused"
    (the address is another account's) or "expired"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def email_change_link(token: str) -> str:
    return settings.SITE_URL + reverse("email_change_confirm", args=[token])


def email_masked(email: str) -> str:
    """"o•••@example.com": enough for the account holder to recognise an address, not to copy it."""
    local, _at, domain = email.partition("@")
    return f"{local[:1]}•••@{domain}"


def _signature() -> str:
    return "\n\n-- \n" + _("Fulfillmen privacy team · privacy@fulfillmen.com")


def _messages_queue(*, change: EmailChangeRequest, token: str, by_staff: bool) -> None:
    """The link to the new address (no name in it: the address may be a stranger's typo) and the notice to the old
    one, in the client's language."""
    from notify.models import OutboundMessage
    from notify.services import message_queue

    client = change.client
    with translation.override(client.preferred_language):
        password_step = _("The page asks for the password of the account: only its holder can make this change.\n\n"
                          ) if client.user_id else ""
        confirm = _(
            "Hello,\n\nSomeone — we hope you — asked to make this address the e-mail address of a Fulfillmen account. "
            "To confirm, open this link within %(hours)s hours:\n%(link)s\n\n%(password_step)sNothing changes until "
            "then. If you did not ask for this, ignore this e-mail."
        ) % {"hours": int(VALID_FOR.total_seconds() // 3600), "link": email_change_link(token),
             "password_step": password_step}
        by = _("through our support team") if by_staff else _("from your account in the privacy portal")
        notice = _(
            "Hello %(name)s,\n\nOn %(date)s a change of the e-mail address of your Fulfillmen account to %(new)s was "
            "asked for %(by)s. A link to confirm it was sent to the new address; nothing changes unless it is "
            "opened within %(hours)s hours and confirmed with your password.\n\nIf this was not you, do not confirm "
            "anything and write to us at once at privacy@fulfillmen.com."
        ) % {"name": client.full_name, "new": email_masked(change.new_email), "by": by,
             "date": formats.date_format(timezone.localtime(change.started_at), "DATETIME_FORMAT"),
             "hours": int(VALID_FOR.total_seconds() // 3600)}
        # The link is a credential: its body is wiped from the delivery row once sent.
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="email-change-confirm", client=client,
                      to=change.new_email, subject=_("Confirm the new e-mail address of your Fulfillmen account"),
                      body=confirm + _signature(), idempotency_key=f"email-change-confirm:{change.pk}",
                      wipe_body_after_send=True)
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="email-change-notice", client=client,
                      to=client.email, subject=_("Someone asked to change the e-mail address of your Fulfillmen account"),
                      body=notice + _signature(), idempotency_key=f"email-change-notice:{change.pk}")


def _changed_notice_queue(*, client: Client, old_email: str, change: EmailChangeRequest) -> None:
    from notify.models import OutboundMessage
    from notify.services import message_queue

    with translation.override(client.preferred_language):
        body = _(
            "Hello %(name)s,\n\nThe e-mail address of your Fulfillmen account is now %(new)s: the change was confirmed "
            "from that address. We write to it from now on, you log in with it, and every session opened with this "
            "address has ended.\n\nIf this was not you, write to us at once at privacy@fulfillmen.com."
        ) % {"name": client.full_name, "new": email_masked(client.email)}
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="email-change-done", client=client, to=old_email,
                      subject=_("The e-mail address of your Fulfillmen account was changed"),
                      body=body + _signature(), idempotency_key=f"email-change-done:{change.pk}")


def _close_pending(client: Client, now) -> None:
    pending = EmailChangeRequest.objects.filter(client=client, status=Status.PENDING)
    pending.filter(expires_at__lte=now).update(status=Status.EXPIRED, closed_at=now)
    pending.update(status=Status.REPLACED, closed_at=now)


@transaction.atomic
def client_email_change_start(*, client: Client, new_email: str, started_by: User) -> EmailChangeRequest:
    """Ask for `client`'s e-mail address to become `new_email`: e-mail the link and the notice; change nothing yet.

    `started_by` is a staff member or the client's own login. Whether the new address is taken is not checked
    here, so the answer tells a support agent nothing the admin does not; the confirmation refuses it. A later
    request replaces an earlier one (its link stops working)."""
    locked = Client.objects.select_for_update().get(pk=client.pk)
    by_staff = started_by.is_staff and started_by.has_perm("accounts.change_client")
    if not by_staff and (started_by.is_staff or started_by.pk != locked.user_id):
        raise PermissionDenied("Only the client, or staff who may change clients, can ask to change the e-mail address.")
    if locked.erased_at is not None:
        raise ValidationError(_("This client's data was erased; there is nothing left to correct."))
    email = _new_address(new_email)
    if email.lower() == locked.email.lower():
        raise ValidationError({"new_email": _("This is already the e-mail address of the account.")})
    now = timezone.now()
    if EmailChangeRequest.objects.filter(client=locked, started_at__gt=now - timedelta(days=1)).count() >= MAX_PER_DAY:
        raise ValidationError(_("Too many e-mail changes were asked for this account today. Please try again "
                                "tomorrow."))
    _close_pending(locked, now)
    token = secrets.token_urlsafe(32)
    change = EmailChangeRequest.objects.create(client=locked, new_email=email, token_digest=_digest(token),
                                               started_by=started_by, started_at=now, expires_at=now + VALID_FOR)
    _messages_queue(change=change, token=token, by_staff=by_staff)
    return change


def _new_address(new_email: str) -> str:
    """Normalised and validated as at sign-up (the login's own field rules)."""
    email = User.objects.normalize_email((new_email or "").strip())
    try:
        if not email:
            raise ValidationError(_("An email address is required."))
        User._meta.get_field("email").run_validators(email)
    except ValidationError as exc:
        raise ValidationError({"new_email": exc.messages}) from exc
    return email


def email_change_of_token(*, token: str, lock: bool = False) -> EmailChangeRequest:
    """The request a link names, if it can still be confirmed; otherwise EmailChangeLinkError."""
    rows = EmailChangeRequest.objects.select_related("client", "client__user")
    change = (rows.select_for_update(of=("self",)) if lock else rows).filter(token_digest=_digest(token)).first()
    if change is None or change.client.erased_at is not None:
        raise EmailChangeLinkError("invalid")
    if change.state == Status.CONFIRMED:
        raise EmailChangeLinkError("used")
    if change.state == Status.EXPIRED:
        raise EmailChangeLinkError("expired")
    if change.state == Status.REFUSED:
        raise EmailChangeLinkError("refused")
    if change.state != Status.PENDING:
        raise EmailChangeLinkError("replaced")
    return change


@transaction.atomic
def client_email_change_confirm(*, token: str, account_holder: User | None) -> EmailChangeRequest:
    """Apply the change the link names. `account_holder` is the login whose password the caller has just checked
    (None for a client without a login); any other login is refused. A new address that has meanwhile become
    another account's is not applied: the request is closed as refused (status REFUSED), without saying whose it is.
    """
    change = email_change_of_token(token=token, lock=True)
    client = Client.objects.select_for_update().get(pk=change.client_id)
    if client.user_id and (account_holder is None or account_holder.pk != client.user_id):
        raise PermissionDenied("The change must be confirmed with the password of the client's own login.")
    old_email, now = client.email, timezone.now()
    try:
        if _email_taken(change.new_email, exclude_client=client):
            raise ValidationError("taken")
        with transaction.atomic():
            _client_fields_save(client=client, changes={"email": change.new_email})
    except ValidationError:  # taken before, or by a sign-up racing this confirmation
        _close(change, Status.REFUSED, now)
        return change
    _close(change, Status.CONFIRMED, now)
    client.refresh_from_db()
    _changed_notice_queue(client=client, old_email=old_email, change=change)
    client_email_changed.send(sender=EmailChangeRequest, client=client, old_email=old_email,
                              new_email=client.email, actor=account_holder, change=change)
    return change


def _close(change: EmailChangeRequest, status: str, now) -> None:
    """The digest stays, so that the link, opened again, says it was used rather than that it never existed."""
    change.status, change.closed_at = status, now
    change.save(update_fields=["status", "closed_at"])
