"""The beat task publishes checkpoints on a real Celery worker on Redis, every LOG_CHECKPOINT_SECONDS."""

import json

import pytest
from django.conf import settings

from tests.amendments.conftest import notice_dirs, worker_factory  # noqa: F401  (fixtures)
from tests.conftest import make_client
from tests.workers import wait_for
from tools.verify_receipt import NoteVerifier, open_note, parse_checkpoint
from transparency_log.checkpoints import log_signer
from transparency_log.models import SignedCheckpoint
from transparency_log.tasks import publish_checkpoint

from .conftest import consent_changes

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_beat_schedule_publishes_every_log_checkpoint_seconds():
    entry = settings.CELERY_BEAT_SCHEDULE["publish-consent-log-checkpoint"]
    assert entry == {"task": "transparency_log.tasks.publish_checkpoint", "schedule": float(settings.LOG_CHECKPOINT_SECONDS)}
    assert publish_checkpoint.name == entry["task"]


def test_a_worker_publishes_a_signed_checkpoint_and_its_witness_copy(worker_factory, consent_log_witness_file):  # noqa: F811
    client = make_client()
    consent_changes(client, 3)
    worker_factory()
    publish_checkpoint.delay()
    assert wait_for(SignedCheckpoint.objects.exists, timeout=30)
    checkpoint = SignedCheckpoint.objects.get()
    body = parse_checkpoint(open_note(checkpoint.note, NoteVerifier.from_vkey(log_signer().vkey)))
    assert body.size == checkpoint.tree_size == 5  # two sign-up defaults and three changes
    assert wait_for(consent_log_witness_file.exists)
    assert json.loads(consent_log_witness_file.read_text().splitlines()[-1])["note"] == checkpoint.note
