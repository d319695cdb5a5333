"""Our copy of a handover file does not outlive its purpose: the retention job deletes the CSV and JSON a configurable
number of days after the handover, and the record of the handover (digests, counts) stays as proof."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from transfers.models import TransferHandover

from .conftest import hand_over

pytestmark = pytest.mark.django_db


def retention_line(capsys, *args) -> str:
    call_command("enforce_retention", *args)
    out = capsys.readouterr().out
    return next(line for line in out.splitlines() if line.split()[:1] == ["transfer_handover_files"])


def test_handover_files_are_deleted_after_their_retention_and_the_proof_stays(announced, legal, privacy_officer,
                                                                             media, capsys, client, settings):
    assert settings.TRANSFER_HANDOVER_FILE_DAYS == 30  # the default, from .env.example
    settings.TRANSFER_HANDOVER_FILE_DAYS = 10
    handover = hand_over(announced, legal)
    files = [media / handover.csv_file.name, media / handover.json_file.name]
    digests, at = (handover.csv_sha256, handover.json_sha256), handover.generated_at

    with time_machine.travel(at + timedelta(days=9, hours=23), tick=False):
        assert "deleted: 0;" in retention_line(capsys)
    with time_machine.travel(at + timedelta(days=10, minutes=1), tick=False):
        assert "would delete: 1;" in retention_line(capsys, "--dry-run")
        assert all(f.exists() for f in files)
        assert "deleted: 1;" in retention_line(capsys)
        assert "deleted: 0;" in retention_line(capsys)  # a second run finds nothing
    assert not any(f.exists() for f in files)
    handover = TransferHandover.objects.get()
    assert not handover.csv_file and not handover.json_file and handover.files_deleted_at
    assert (handover.csv_sha256, handover.json_sha256) == digests and handover.client_count == 2

    client.force_login(privacy_officer)
    page = client.get(reverse("admin:transfers_businesstransfer_change", args=[announced.pk])).content.decode()
    assert "after their retention period" in page and digests[0] in page
    download = reverse("admin:transfers_businesstransfer_handover_download", args=[announced.pk, "csv"])
    assert client.get(download).status_code == 404
    assert not announced.audit.filter(note__contains="downloaded").exists()  # nothing was read, nothing logged


def test_a_retention_period_of_handover_files_below_one_day_stops_the_job(announced, settings, capsys):
    from django.core.management.base import CommandError

    settings.TRANSFER_HANDOVER_FILE_DAYS = 0
    with pytest.raises(CommandError, match="TRANSFER_HANDOVER_FILE_DAYS"):
        call_command("enforce_retention", "--dry-run")
