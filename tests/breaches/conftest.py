from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.services import staff_user_ensure
from breaches.services import breach_record
from tests.conftest import PASSWORD

TEXTS = {
    "nature": "An attacker used a stolen API key to read client records.",
    "nature_zh": "攻击者使用被盗的接口密钥读取了客户记录。",
    "consequences": "Phishing e-mails that look like ours.",
    "consequences_zh": "可能收到冒充我们的钓鱼邮件。",
    "measures": "The key was revoked and all keys were rotated.",
    "measures_zh": "该密钥已被吊销，所有密钥均已更换。",
    "client_advice": "Be wary of e-mails asking for passwords.",
    "client_advice_zh": "请警惕索要密码的邮件。",
}


@pytest.fixture
def officer(db):
    return staff_user_ensure(email="privacy@example.com", password=PASSWORD, groups=["Privacy officers"])


@pytest.fixture
def officer2(db):
    return staff_user_ensure(email="privacy2@example.com", password=PASSWORD, groups=["Privacy officers"])


@pytest.fixture
def legal(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


@pytest.fixture
def support(db):
    return staff_user_ensure(email="support@example.com", password=PASSWORD, groups=["Support agents"])


def make_breach(by, *, hours_ago=1, categories=("name", "email"), **overrides):
    fields = {"title": "Stolen API key", "discovered_at": timezone.now() - timedelta(hours=hours_ago),
              "categories": list(categories), "dpo_contact": "DPO, dpo@fulfillmen.example", **TEXTS, **overrides}
    return breach_record(recorded_by=by, **fields)


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("breach-worker-mail")


@pytest.fixture(scope="session")
def sms_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("breach-worker-sms")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, mail_dir, sms_dir):
    """A real Celery worker on Redis, consuming a queue of its own (tests/workers.py)."""
    from fulfillmen.celery import app
    from tests.workers import Worker

    previous_queue = app.conf.task_default_queue
    with django_db_blocker.unblock():
        worker = Worker(mail_dir=mail_dir, sms_dir=sms_dir)
    worker.start()
    yield worker
    worker.stop()
    app.conf.task_default_queue = previous_queue
