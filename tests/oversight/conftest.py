import pytest

from accounts.services import staff_user_ensure
from tests.conftest import PASSWORD


@pytest.fixture
def legal(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
