import importlib

import pytest
from django.test import Client as TestClient
from django.utils import translation

from accounts.models import Language
from accounts.services import client_register, staff_user_ensure

PASSWORD = "correct-horse-battery-42"


def make_client(email="owner@example.com", *, country="DE", phone="+49 151 23456789", full_name="Owner Client", **extra):
    return client_register(
        email=email, password=PASSWORD, full_name=full_name, country=country, phone=phone,
        preferred_language=extra.pop("preferred_language", Language.EN), **extra,
    )


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture
def owner(db):
    """A client and their login: the person whose data a test looks at."""
    return make_client()


@pytest.fixture
def outsider(db):
    """Another client, who must never see the owner's data."""
    return make_client("outsider@example.com", country="FR", phone="+33 6 12 34 56 78", full_name="Outside Person")


@pytest.fixture
def privacy_officer(db):
    return staff_user_ensure(email="privacy@example.com", password=PASSWORD, groups=["Privacy officers"])


@pytest.fixture
def support_agent(db):
    return staff_user_ensure(email="support@example.com", password=PASSWORD, groups=["Support agents"])


# Django's own force_login, kept before the shim below replaces it: the password factor only, no verified device.
password_only_force_login = TestClient.force_login


@pytest.fixture(autouse=True)
def force_login_passes_the_second_factor(monkeypatch):
    """force_login bypasses both factors, as it bypasses the password: a staff user's session is also verified by
    their TOTP device (created if need be), so the admin (an OTPAdminSite) lets them in. The tests that prove the
    second factor log in through the form, or with `password_only_force_login(client, user)`."""
    from django_otp import DEVICE_ID_SESSION_KEY

    from accounts.two_factor import staff_totp_device_ensure

    def force_login(self, user, backend=None):
        password_only_force_login(self, user, backend)
        if user.is_staff:
            session = self.session
            session[DEVICE_ID_SESSION_KEY] = staff_totp_device_ensure(user).persistent_id
            session.save()

    monkeypatch.setattr(TestClient, "force_login", force_login)


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: a request in another one leaves it active in the thread (Django's
    LocaleMiddleware does not undo it), and a test after it that calls gettext directly would read that language."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def tasks_run_in_process(request):
    """Most tests run Celery tasks in-process; tests using `celery_worker` or `worker_factory` use real workers."""
    from fulfillmen.celery import app

    eager = not {"celery_worker", "worker_factory"} & set(request.fixturenames)
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


# Rows that data migrations create. A transactional test ends with a flush of every table, after which Django
# re-creates content types and permissions only; these loaders (idempotent) put the rest back.
REFERENCE_DATA = [
    ("accounts.migrations.0002_staff_groups", "create_groups"),
    ("accounts.migrations.0006_staff_access_permissions", "grant"),
    ("accounts.migrations.0010_signup_age_rules", "load"),  # the age rules of sign-up (PIPL Art. 31, GDPR Art. 8)
    ("amendments.migrations.0004_staff_permissions", "grant"),
    ("amendments.migrations.0006_notice_delivery_permissions", "grant"),
    ("consent.migrations.0002_purpose_catalogue", "load"),
    ("consent.migrations.0004_staff_permissions", "grant"),
    ("consent.migrations.0006_policy_acceptance_purpose", "load"),
    ("consent.migrations.0008_age_purposes_and_cookie_description", "load"),
    ("consent.migrations.0010_disclosure_purposes", "load"),
    ("disclosures.migrations.0003_staff_permissions", "grant"),
    ("breaches.migrations.0002_staff_permissions", "grant"),
    ("rights.migrations.0002_reference_data", "load"),
    ("rights.migrations.0003_deadline_extension_limits", "load"),
    ("rights.migrations.0007_receipt_acknowledgement_and_clock_pauses", "load"),  # no verification pause under the CCPA
    ("rights.migrations.0008_agents_and_appeals", "grant"),
    ("oversight.migrations.0002_staff_permissions", "grant"),
    ("processing.migrations.0002_assessments_append_only_and_permissions", "grant"),
    ("sharing.migrations.0002_staff_permissions", "grant"),
    ("transfers.migrations.0002_staff_permissions", "grant"),
    ("webhooks.migrations.0002_staff_permissions", "grant"),
    ("sharing.migrations.0008_partner_engagements_and_processors", "seed"),  # engagement grants, e-mail and SMS processors
]


@pytest.fixture(scope="session", autouse=True)
def flush_may_empty_the_ledgers():
    """A transactional test ends with Django's flush, one TRUNCATE of every table, and the ledgers' statement
    triggers refuse TRUNCATE (issue #16.8). For the flush's own transaction only, the test suite's superuser
    connection switches user triggers off (`SET LOCAL session_replication_role = replica`, which only a superuser may
    set); production code never does, so nothing in the application can get past them."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        flush(self, ["SET LOCAL session_replication_role = replica", *sql_list,
                     "SET LOCAL session_replication_role = origin"])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture(autouse=True)
def reference_data_after_flush(request):
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("_django_db_helper")
    from django.apps import apps

    for module, loader in REFERENCE_DATA:
        getattr(importlib.import_module(module), loader)(apps, None)


@pytest.fixture(autouse=True)
def quick_password_hashing(settings):
    """Production hashes passwords slowly on purpose; the tests log in hundreds of times and only need it correct."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def cache_of_its_own(settings):
    """Each test counts (throttles, …) in a cache namespace of its own, without flushing the shared Redis."""
    import uuid

    caches = {alias: {**config} for alias, config in settings.CACHES.items()}
    for config in caches.values():
        config["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:12]}"
    settings.CACHES = caches


@pytest.fixture(autouse=True)
def consent_log_witness_file(settings, tmp_path):
    """Each test's own witness copy of the consent log's checkpoints: the database is emptied between tests, a file
    under var/ would not be, and verify_log would rightly call the old checkpoints in it missing."""
    settings.LOG_WITNESS_FILE = tmp_path / "consent-log-checkpoints.jsonl"
    return settings.LOG_WITNESS_FILE
