import pytest

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
