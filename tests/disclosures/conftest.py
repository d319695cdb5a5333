import pytest

from accounts.services import staff_user_ensure
from tests.conftest import PASSWORD


@pytest.fixture
def legal():
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


@pytest.fixture
def legal2():
    return staff_user_ensure(email="legal2@example.com", password=PASSWORD, groups=["Legal"])
