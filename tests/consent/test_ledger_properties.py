"""Property-based tests of the consent ledger (issue #10): random sequences of every way consent changes — portal
grant and withdraw, a GPC signal, staff entry of an e-mail or letter (the admin form and service), CSV imports (the
same file again included) and erasure — checked against a model of what each step must record.

After every step: for each client and consent purpose the current state is the last event's action, the whole
ledger verifies as `verify_ledger` verifies it, and each client has exactly as many events as the model expects (no
event lost, none duplicated by a repeated form or import). Erased clients' ledgers still verify.

The sequential machine runs inside the test's transaction; each example is a savepoint rolled back at its end. The
concurrent variant runs real transactions on PostgreSQL, several threads each with its own connection.
"""

import threading
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from accounts.services import staff_user_ensure
from consent.forms import OfflineConsentForm
from consent.imports import HEADER, consent_import_apply
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from consent.services import Evidence, consent_gpc_honour, consent_record
from consent.verification import ledger_verify
from rights.erasure import erasure_perform, erasure_request
from tests.conftest import PASSWORD, make_client
from tests.threads import run_in_parallel

PURPOSES = ["promotional-sharing", "marketing-messages"]  # the consent purposes a client can change
GPC_PURPOSES = {"promotional-sharing"}
CLIENTS = [  # (country, region, phone): GPC matters in California; in Germany consent starts withdrawn
    ("US", "US-CA", "+14155552671"),
    ("DE", "", "+49 151 23456789"),
    ("US", "US-CA", ""),
]
DAYS_AGO = [1, 2, 30]
REFERENCES = ["LTR-1", "LTR-2", "MAIL-7"]
clients_i = st.integers(0, len(CLIENTS) - 1)
purposes = st.sampled_from(PURPOSES)
channels = st.sampled_from([Channel.EMAIL, Channel.LETTER])
rows = st.tuples(clients_i, purposes, channels, st.sampled_from(DAYS_AGO), st.sampled_from(REFERENCES))


def received(days_ago: int):
    return timezone.localdate() - timedelta(days=days_ago)


def csv_text(clients, file_rows) -> str:
    lines = [",".join(HEADER)] + [f"{clients[i].email},{code},{channel},{received(days).isoformat()},{ref}"
                                  for i, code, channel, days, ref in file_rows]
    return "\n".join(lines) + "\n"


class Ledger:
    """The model: what each client's consent is and how many events their chain has, and how to apply each change
    through the code under test (sharing its bookkeeping between the sequential and the concurrent test)."""

    def __init__(self, clients, staff):
        self.clients, self.staff = clients, staff
        self.purposes = {p.code: p for p in Purpose.objects.filter(code__in=PURPOSES)}
        self.granted = {(c.pk, s.purpose.code): s.granted
                        for c in clients for s in ConsentState.objects.filter(client=c).select_related("purpose")}
        self.events = {c.pk: ConsentEvent.objects.filter(client=c).count() for c in clients}
        self.gpc_done = {c.pk: set() for c in clients}
        self.erased = set()
        self.import_keys = set()

    def portal(self, i, code, action):
        client = self.clients[i]
        event, created = consent_record(client=client, purpose=self.purposes[code], action=action, channel=Channel.PORTAL,
                                        ip_address="203.0.113.9", user_agent="PropertyTest/1.0")
        assert created == (self.granted[client.pk, code] != (action == ConsentAction.GRANT))
        self._recorded(client, code, action, created)
        return created

    def gpc(self, i):
        client = self.clients[i]
        due = {code for code in GPC_PURPOSES if self.granted[client.pk, code] and code not in self.gpc_done[client.pk]}
        events = consent_gpc_honour(client=client, ip_address="203.0.113.9", user_agent="GPC/1.0")
        assert {e.purpose.code for e in events} == due
        for code in due:
            self.gpc_done[client.pk].add(code)
            self._recorded(client, code, ConsentAction.WITHDRAW, True)
        return len(events)

    def staff_form(self, i, code, action, channel, days_ago, reference, submission):
        """What the admin's record page does: the form, then `consent_record` with the form's idempotency key."""
        client = self.clients[i]
        form = OfflineConsentForm({
            "client": client.email, "purpose": self.purposes[code].pk, "action": action, "channel": channel,
            "received_on": received(days_ago).isoformat(), "reference": reference, "submission": submission})
        if not form.is_valid():
            assert client.pk in self.erased, form.errors  # an erased client's address is no one's any more
            return 0
        data = form.cleaned_data
        event, created = consent_record(
            client=data["client"], purpose=data["purpose"], action=data["action"], channel=data["channel"],
            occurred_at=timezone.now() - timedelta(days=days_ago), recorded_by=self.staff,
            evidence=Evidence(reference=data["reference"], received_on=data["received_on"]),
            idempotency_key=form.idempotency_key())
        self._recorded(client, code, action, created)
        return created

    def csv_import(self, text, file_rows):
        """Each row new in the ledger is one withdrawal; the same row twice in a file, or again later, none."""
        new, seen = [], set()
        for i, code, channel, days, ref in file_rows:
            key = (self.clients[i].pk, code, channel, days, ref)
            if self.clients[i].pk in self.erased or key in seen:
                continue  # unknown client (erased: no one has the address), or a duplicate line: an error row
            seen.add(key)
            if key not in self.import_keys:
                new.append(key)
        summary = consent_import_apply(text=text, recorded_by=self.staff)
        assert summary.applied == len(new), summary
        assert summary.applied + summary.already_recorded == len(seen), summary
        for client_pk, code, *_ in new:
            client = next(c for c in self.clients if c.pk == client_pk)
            self._recorded(client, code, ConsentAction.WITHDRAW, True)
        self.import_keys |= set(new)
        return summary.applied

    def erase(self, i):
        client = self.clients[i]
        client.refresh_from_db()
        request = erasure_request(client=client, actor=client.user)
        done = erasure_perform(request=request, now=request.scheduled_for + timedelta(minutes=1))
        assert done.status == done.Status.COMPLETED, done.get_status_display()
        self.erased.add(client.pk)
        client.refresh_from_db()

    def _recorded(self, client, code, action, created):
        if created:
            self.events[client.pk] += 1
            self.granted[client.pk, code] = action == ConsentAction.GRANT

    def check(self):
        report = ledger_verify()
        assert report.intact, report.problems
        for client in self.clients:
            assert ConsentEvent.objects.filter(client=client).count() == self.events[client.pk], client.pk in self.erased
            for code in PURPOSES:
                state = ConsentState.objects.select_related("last_event").get(client=client, purpose__code=code)
                last = ConsentEvent.objects.filter(client=client, purpose__code=code).order_by("-sequence").first()
                assert state.last_event_id == last.pk
                assert state.granted == (last.action == ConsentAction.GRANT) == self.granted[client.pk, code]


STEPS = Counter()  # what the machine did across the examples of one run: every kind of change must have been tried


class ConsentLedgerMachine(RuleBasedStateMachine):
    """One example: three new clients, a staff member, a series of random changes. The database work of the
    example is a savepoint inside the test's transaction, rolled back in `teardown`."""

    def __init__(self):
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        run = uuid.uuid4().hex[:8]
        clients = [make_client(f"p{run}-{n}@example.com", country=country, region=region, phone=phone)
                   for n, (country, region, phone) in enumerate(CLIENTS)]
        staff = staff_user_ensure(email=f"staff-{run}@example.com", password=PASSWORD, groups=["Support agents"])
        self.ledger = Ledger(clients, staff)
        self.last_form = None
        self.last_file = None

    def teardown(self):
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    def _live(self, i) -> bool:
        return self.ledger.clients[i].pk not in self.ledger.erased

    @rule(i=clients_i, code=purposes)
    def grant_in_portal(self, i, code):
        if self._live(i):
            STEPS["grant"] += 1
            self.ledger.portal(i, code, ConsentAction.GRANT)

    @rule(i=clients_i, code=purposes)
    def withdraw_in_portal(self, i, code):
        if self._live(i):
            STEPS["withdraw"] += 1
            self.ledger.portal(i, code, ConsentAction.WITHDRAW)

    @rule(i=clients_i)
    def gpc_signal(self, i):
        if self._live(i):
            STEPS["gpc"] += 1
            self.ledger.gpc(i)

    @rule(i=clients_i, code=purposes, action=st.sampled_from([ConsentAction.GRANT, ConsentAction.WITHDRAW]),
          channel=channels, days=st.sampled_from(DAYS_AGO), reference=st.sampled_from(REFERENCES))
    def staff_entry(self, i, code, action, channel, days, reference):
        """A letter recorded by staff through the admin's form and service."""
        self.last_form = (i, code, action, channel, days, reference, uuid.uuid4().hex)
        STEPS["staff entry"] += 1
        self.ledger.staff_form(*self.last_form)

    @precondition(lambda self: self.last_form is not None)
    @rule()
    def staff_entry_again(self):
        """The previous form submitted a second time (a double click): nothing new."""
        STEPS["staff entry again"] += 1
        self.ledger.staff_form(*self.last_form)

    @rule(file_rows=st.lists(rows, min_size=1, max_size=4))
    def csv_import(self, file_rows):
        """A small CSV file of withdrawals (the same line twice in it included)."""
        self.last_file = (csv_text(self.ledger.clients, file_rows), file_rows)
        STEPS["import"] += 1
        self.ledger.csv_import(*self.last_file)

    @precondition(lambda self: self.last_file is not None)
    @rule()
    def csv_import_again(self):
        """The previous file imported a second time: nothing new."""
        STEPS["import again"] += 1
        self.ledger.csv_import(*self.last_file)

    @rule(i=clients_i)
    def erasure(self, i):
        if self._live(i):
            self.ledger.erase(i)
            STEPS["erasure"] += 1

    @invariant()
    def ledger_matches_the_model(self):
        self.ledger.check()


@pytest.mark.django_db
def test_any_sequence_of_consent_changes_keeps_the_ledger_whole(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    STEPS.clear()
    every_kind = {"grant", "withdraw", "gpc", "staff entry", "staff entry again", "import", "import again", "erasure"}
    # Each kind of change, on a live client, at least once. Hypothesis's stateful runs switch some rules off per
    # example (swarm testing), so 20 examples sometimes miss the rarest one, a form sent twice; up to two more runs
    # of 20 examples then explore further (every step of every run checks the ledger against the model all the same).
    for _ in range(3):
        run_state_machine_as_test(ConsentLedgerMachine, settings=settings_for_machine)
        tried = {step for step, times in STEPS.items() if times}
        if tried == every_kind:
            break
    assert tried == every_kind, STEPS


settings_for_machine = settings(max_examples=20, stateful_step_count=15, deadline=None,
                                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# Concurrent: a few threads, each a list of operations on the same three clients, at once.
operations = st.one_of(
    st.tuples(st.just("portal"), clients_i, purposes, st.sampled_from([ConsentAction.GRANT, ConsentAction.WITHDRAW])),
    st.tuples(st.just("gpc"), clients_i),
    st.tuples(st.just("staff"), clients_i, purposes, st.sampled_from([ConsentAction.GRANT, ConsentAction.WITHDRAW]),
              channels, st.sampled_from(DAYS_AGO), st.sampled_from(REFERENCES)),
    st.tuples(st.just("import"), st.lists(rows, min_size=1, max_size=3)),
)
THREADS = 4


def _apply(client_list, staff, operation) -> int:
    """One operation through the code under test; returns the number of events it says it created."""
    kind, *args = operation
    purposes_by_code = {p.code: p for p in Purpose.objects.filter(code__in=PURPOSES)}
    if kind == "portal":
        i, code, action = args
        return int(consent_record(client=client_list[i], purpose=purposes_by_code[code], action=action,
                                  channel=Channel.PORTAL)[1])
    if kind == "gpc":
        return len(consent_gpc_honour(client=client_list[args[0]], ip_address=None, user_agent="GPC/1.0"))
    if kind == "staff":
        i, code, action, channel, days, reference = args
        return int(consent_record(client=client_list[i], purpose=purposes_by_code[code], action=action, channel=channel,
                                  recorded_by=staff, evidence=Evidence(reference=reference, received_on=received(days)),
                                  occurred_at=timezone.now() - timedelta(days=days),
                                  idempotency_key=f"staff:{uuid.uuid4().hex}")[1])
    return consent_import_apply(text=csv_text(client_list, args[0]), recorded_by=staff).applied


@pytest.mark.django_db(transaction=True)
@settings(max_examples=10, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(plans=st.lists(st.lists(operations, min_size=2, max_size=6), min_size=THREADS, max_size=THREADS))
def test_concurrent_consent_changes_to_the_same_clients_lose_nothing(plans):
    run = uuid.uuid4().hex[:8]
    client_list = [make_client(f"c{run}-{n}@example.com", country=country, region=region, phone=phone)
                   for n, (country, region, phone) in enumerate(CLIENTS)]
    staff = staff_user_ensure(email=f"staff-{run}@example.com", password=PASSWORD, groups=["Support agents"])
    before = ConsentEvent.objects.filter(client__in=client_list).count()
    created = []

    def worker(plan):
        for operation in plan:
            created.append(_apply(client_list, staff, operation))

    run_in_parallel([lambda plan=plan: worker(plan) for plan in plans])
    assert ConsentEvent.objects.filter(client__in=client_list).count() == before + sum(created)
    report = ledger_verify()
    assert report.intact, report.problems
    for client in client_list:
        sequences = list(ConsentEvent.objects.filter(client=client).order_by("sequence").values_list("sequence", flat=True))
        assert sequences == list(range(1, len(sequences) + 1))
        for code in PURPOSES:
            state = ConsentState.objects.get(client=client, purpose__code=code)
            last = ConsentEvent.objects.filter(client=client, purpose__code=code).order_by("-sequence").first()
            assert (state.last_event_id, state.granted) == (last.pk, last.action == ConsentAction.GRANT)
    # Each file's rows are withdrawals keyed by content: however the threads raced, a row is in the ledger once.
    keys = list(ConsentEvent.objects.filter(client__in=client_list, channel__in=[Channel.EMAIL, Channel.LETTER],
                                            idempotency_key__isnull=False).values_list("idempotency_key", flat=True))
    assert len(keys) == len(set(keys))


@pytest.mark.django_db(transaction=True)
def test_a_consent_change_in_flight_while_the_client_is_erased_leaves_nothing_personal(settings, tmp_path):
    """The erasure holds the client row; a portal change of the same client (a request already under way) waits for
    it and must then find the client erased: no event with an IP address or user agent may outlive the erasure."""
    from django.core.exceptions import ValidationError

    from accounts.models import Client, IPObservation
    from consent.models import ConsentEventPersonalData

    settings.MEDIA_ROOT = tmp_path
    client = make_client("racer@example.com", country="US", region="US-CA", phone="")
    request = erasure_request(client=client, actor=client.user)
    erasure_holds_client, writer_started = threading.Event(), threading.Event()
    errors = []

    def erase():
        try:
            with transaction.atomic():
                Client.objects.select_for_update().get(pk=client.pk)
                erasure_holds_client.set()
                writer_started.wait(timeout=10)
                threading.Event().wait(0.3)  # the writer is now waiting for the client row
                erasure_perform(request=request, now=request.scheduled_for + timedelta(minutes=1))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def write():
        try:
            erasure_holds_client.wait(timeout=10)
            writer_started.set()
            consent_record(client=client, purpose=Purpose.objects.get(code="marketing-messages"),
                           action=ConsentAction.WITHDRAW, channel=Channel.PORTAL, ip_address="198.51.100.77",
                           user_agent="RacingBrowser/1.0")
        except ValidationError as exc:
            errors.append(exc)  # refused: the client is gone
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=erase), threading.Thread(target=write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(isinstance(exc, ValidationError) for exc in errors), errors
    assert not ConsentEventPersonalData.objects.filter(event__client=client).exists()
    assert not IPObservation.objects.filter(client=client).exists()
    assert ledger_verify().intact
