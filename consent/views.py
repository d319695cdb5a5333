"""The portal's "Your choices": see every purpose, give or withdraw consent in one click, prove it with receipts.

GDPR Art. 7(3) and PIPL Art. 15: withdrawing is as easy as giving — one button per purpose, no JavaScript.
"""

from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.ip import request_ip
from accounts.jurisdictions import storage_location_label
from accounts.keyset import cursor_open, keyset_page
from accounts.models import Client
from accounts.replica import replica_reads
from accounts.selectors import client_of_user

from .choices_page import choice_list
from .history_page import history_rows, history_rows_render
from .log_hooks import consent_log
from .middleware import request_has_gpc
from .models import Channel, ConsentAction, DataCategory, LegalBasis, Purpose, RecipientClass
from .receipts import consent_receipt
from .recipient_hooks import Recipient, recipients_for
from .selectors import (
    CurrentConsent,
    consent_event_for_client,
    consent_history,
    gpc_was_honoured,
    purpose_of_client,
    purposes_with_state,
)
from .services import consent_receipt_send, consent_record

HISTORY_PAGE_SIZE = 25


@dataclass(frozen=True)
class Choice:
    """One purpose as the client sees it: its current state and the one action the button offers.

    A purpose with named recipients (PIPL Art. 23, 39) carries one Choice per recipient in `recipients`, each with
    the `recipient` it names: the client gives each one separately, and withdraws one or, on the purpose, all."""

    purpose: Purpose
    state: CurrentConsent | None
    recipient: Recipient | None = None
    recipients: tuple["Choice", ...] = ()
    # The client's jurisdiction: a separate consent to a transfer abroad is asked only where the law asks for it.
    jurisdiction: str = ""

    @property
    def rests_on_consent(self) -> bool:
        return self.purpose.legal_basis == LegalBasis.CONSENT and not self.transfer_rests_on_contract

    @property
    def transfer_rests_on_contract(self) -> bool:
        """A transfer abroad under a contract purpose, for a client whose law does not ask for separate consent."""
        return bool(self.recipient and self.recipient.transfer_consent
                    and self.jurisdiction not in settings.TRANSFER_CONSENT_JURISDICTIONS)

    @property
    def granted(self) -> bool:
        return bool(self.state and self.state.granted)

    @property
    def any_recipient_granted(self) -> bool:
        return any(r.granted for r in self.recipients)

    @property
    def action(self) -> str | None:
        """`grant`, `withdraw` or None (no button: not a consent purpose, or consent that cannot be withdrawn).

        A purpose with named recipients is given one recipient at a time (never all in one click: each is a separate
        consent) and withdrawn from all at once, as easily as any one was given (GDPR Art. 7(3))."""
        if not self.rests_on_consent:
            return None
        if self.recipients and not self.granted and not self.any_recipient_granted:
            return None
        if self.recipients or self.granted:
            return ConsentAction.WITHDRAW if self.purpose.withdrawable else None
        return ConsentAction.GRANT

    @property
    def recipient_data_labels(self) -> str:
        codes = self.recipient.data_categories if self.recipient else ()
        return ", ".join(str(DataCategory(c).label) for c in codes if c in DataCategory.values)

    @property
    def rights_contact_is_web(self) -> bool:
        return bool(self.recipient and self.recipient.rights_contact.startswith(("https://", "http://")))

    # The purpose's labels, read from the choices' enums directly (the model's get_FOO_display() rebuilds a dict
    # of every choice on each call, and the choices page shows them for every purpose).
    @property
    def legal_basis_label(self) -> str:
        return _label(LegalBasis, self.purpose.legal_basis)

    @property
    def recipient_class_label(self) -> str:
        return _label(RecipientClass, self.purpose.recipient_class)

    @property
    def data_labels(self) -> str:
        return ", ".join(str(label) for label in self.purpose.data_category_labels())


def _label(choices, value) -> str:
    return str(choices(value).label) if value in choices.values else value


def choices_for(*, client: Client, with_recipients: bool = True) -> list[Choice]:
    """Every purpose, each per-recipient purpose under its parent with who its recipient is (two queries in all).

    `with_recipients=False` (the dashboard, which shows only each top-level purpose's own state): the children
    carry no recipient, and the second query is not made."""
    rows = purposes_with_state(client=client)
    recipients = recipients_for([p.pk for p, __ in rows if p.parent_id]) if with_recipients else {}
    children: dict[int, list[Choice]] = {}
    for purpose, state in rows:
        if purpose.parent_id:
            children.setdefault(purpose.parent_id, []).append(
                Choice(purpose, state, recipient=recipients.get(purpose.pk), jurisdiction=client.jurisdiction))
    return [Choice(purpose, state, recipients=tuple(children.get(purpose.pk, ())), jurisdiction=client.jurisdiction)
            for purpose, state in rows if not purpose.parent_id]


def gpc_note_due(request, *, client: Client) -> bool:
    """Say that the GPC signal was honoured when this request carries it and the ledger shows it was."""
    return request_has_gpc(request) and gpc_was_honoured(client=client)


def client_required(view):
    """Logged-in clients only: staff work in the admin, and a login without a client record has nothing here."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_staff:
            return redirect("admin:index")
        client = client_of_user(user=request.user)
        if client is None:
            return render(request, "portal/no_client.html", status=403)
        return view(request, client, *args, **kwargs)

    return wrapper


@replica_reads
@client_required
def choices(request, client):
    storage_location = storage_location_label()
    return render(request, "consent/choices.html", {
        "client": client, "gpc_honoured": gpc_note_due(request, client=client), "storage_location": storage_location,
        "choice_list": choice_list(request=request, client=client, choices=lambda: choices_for(client=client),
                                   storage_location=storage_location),
    })


def _shown_time(moment) -> str:
    """A moment as the client reads it, with the time zone named (the format may end in "a.m.")."""
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({timezone.get_current_timezone_name()})"


def _change_message(event, *, created: bool) -> str:
    values = {"purpose": event.purpose.title, "time": _shown_time(event.occurred_at)}
    if not created:
        if event.action == ConsentAction.GRANT:
            return _("Your consent to “%(purpose)s” was already given; nothing changed.") % values
        return _("Your consent to “%(purpose)s” was already withdrawn; nothing changed.") % values
    if event.action == ConsentAction.GRANT:
        return _("Your consent to “%(purpose)s” was given at %(time)s. A receipt was sent to your email.") % values
    return _("Your consent to “%(purpose)s” was withdrawn at %(time)s. A receipt was sent to your email.") % values


@require_POST
@client_required
def choice_change(request, client, code):
    purpose = purpose_of_client(client=client, code=code)  # not a purpose offered only to other clients (offers.py)
    if purpose is None:
        raise Http404
    try:
        with transaction.atomic():
            event, created = consent_record(
                client=client, purpose=purpose, action=request.POST.get("action", ""), channel=Channel.PORTAL,
                ip_address=request_ip(request), user_agent=request.headers.get("User-Agent", ""),
            )
            if created:
                consent_receipt_send(event=event)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        (messages.success if created else messages.info)(request, _change_message(event, created=created))
    return redirect("consent:choices")


def _sequence_parse(text: str) -> tuple[int]:
    sequence = int(text)
    if not 0 <= sequence < 2**62:
        raise ValueError("not a position in a chain")
    return (sequence,)


@replica_reads
@client_required
def history(request, client):
    """The client's ledger, newest first, each event with its place in the public consent log (one query for all).
    The first page is kept rendered while nothing on it changed (consent/history_page.py)."""
    older, newer = request.GET.get("older"), request.GET.get("newer")

    def rows_html() -> str:
        page = keyset_page(consent_history(client=client), fields=("sequence",), key=lambda e: (e.sequence,),
                           size=HISTORY_PAGE_SIZE, older=older, newer=newer, parse=_sequence_parse,
                           write=lambda values: str(values[0]))
        log = consent_log()
        places = log.places(page.rows)
        return history_rows_render({"page": page, "rows": [(event, places[event.pk]) for event in page.rows],
                                    "checkpoint_minutes": log.checkpoint_minutes(),
                                    "label": _("Pages of your consent history")})

    first = not _cursor_valid(older) and not _cursor_valid(newer)
    html = history_rows(client=client, render=rows_html, first_page=first)
    return render(request, "consent/history.html", {"client": client, "rows_html": html})


def _cursor_valid(text) -> bool:
    try:
        return bool(text) and bool(_sequence_parse(cursor_open(text)))
    except ValueError:
        return False


@never_cache
@client_required
def receipt_download(request, client, receipt_id):
    event = consent_event_for_client(client=client, receipt_id=receipt_id)
    if event is None:  # another client's receipt looks exactly like one that does not exist
        raise Http404
    response = JsonResponse(consent_receipt(event=event), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="consent-receipt-{event.receipt_id}.json"'
    return response
