import pytest

from consent.models import Channel, ConsentAction, ConsentState, Purpose
from consent.services import consent_record
from tests.conftest import make_client


def consent_changes(client, count: int, *, purpose_code: str = "promotional-sharing"):
    """`count` changes of mind by `client` (each the opposite of the last), through the service, as from the portal."""
    purpose = Purpose.objects.get(code=purpose_code)
    granted = bool(ConsentState.objects.filter(client=client, purpose=purpose).values_list("granted", flat=True).first())
    events = []
    for _ in range(count):
        action = ConsentAction.WITHDRAW if granted else ConsentAction.GRANT
        granted = not granted
        events.append(consent_record(client=client, purpose=purpose, action=action, channel=Channel.PORTAL,
                                     ip_address="198.51.100.4", user_agent="Firefox")[0])
    return events


@pytest.fixture
def two_clients(db):
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671"), make_client("de@example.com")
