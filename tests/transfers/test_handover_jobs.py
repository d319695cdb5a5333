"""The handover as the worker runs it (in this process, so that a failure can be forced after the files are stored):
a failure leaves no file and no record and tells staff why; a killed worker's leftovers go before the next attempt."""

import pytest
import time_machine
from django.urls import reverse

from sharing.models import SharingRecord
from transfers import handover as handover_module
from transfers.handover_jobs import transfer_handover_perform, transfer_handover_request
from transfers.models import BusinessTransfer, TransferHandover

from .conftest import after_deadline

pytestmark = pytest.mark.django_db
Status = BusinessTransfer.Status


def stored(media):
    return sorted(p.name for p in media.rglob("*") if p.is_file())


def test_a_handover_that_fails_after_writing_its_files_leaves_nothing_and_staff_see_the_reason(
        announced, legal, privacy_officer, media, monkeypatch, client, django_capture_on_commit_callbacks):
    def broken(**kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(handover_module, "sharing_records_write_to_recipient", broken)
    with time_machine.travel(after_deadline(announced), tick=False):
        with django_capture_on_commit_callbacks(execute=False) as queued:
            transfer_handover_request(transfer=announced, actor=legal)
        assert len(queued) == 1  # the task, after commit
        assert transfer_handover_perform(transfer_id=announced.pk) is None
    announced.refresh_from_db()
    assert announced.status == Status.PUBLISHED and "OSError" in announced.handover_error
    assert "No space left" not in announced.handover_error  # an exception's text may quote data: only its kind
    assert not TransferHandover.objects.exists() and not SharingRecord.objects.exists() and stored(media) == []
    client.force_login(privacy_officer)
    page = client.get(reverse("admin:transfers_businesstransfer_change", args=[announced.pk])).content.decode()
    assert "It failed and nothing was handed over" in page and "OSError" in page
    assert announced.audit.filter(from_status=Status.HANDING_OVER, to_status=Status.PUBLISHED).count() == 1

    monkeypatch.undo()  # asked again, it works, and the error is gone
    with time_machine.travel(after_deadline(announced), tick=False):
        transfer_handover_request(transfer=announced, actor=legal)
        handover = transfer_handover_perform(transfer_id=announced.pk)
        assert transfer_handover_perform(transfer_id=announced.pk) is None  # a second run does nothing
    announced.refresh_from_db()
    assert announced.status == Status.HANDED_OVER and announced.handover_error == ""
    assert SharingRecord.objects.filter(request_id=handover.request_id).count() == 2 == SharingRecord.objects.count()


def test_files_left_by_a_worker_killed_in_the_middle_are_deleted_before_the_next_attempt(announced, legal, media):
    with time_machine.travel(after_deadline(announced), tick=False):
        transfer_handover_request(transfer=announced, actor=legal)
        folder = media / "transfers" / str(announced.public_id)
        folder.mkdir(parents=True)
        (folder / f"handover-{announced.public_id}.csv").write_text("half a file")  # no row points at it
        handover = transfer_handover_perform(transfer_id=announced.pk)
    assert stored(media) == sorted([handover.csv_file.name.rsplit("/", 1)[1], handover.json_file.name.rsplit("/", 1)[1]])
    assert handover.csv_file.name.endswith(f"handover-{announced.public_id}.csv")  # the name, not a renamed copy


def test_handing_over_is_refused_before_the_deadline_and_for_staff_outside_the_two_groups(announced, legal,
                                                                                           support_agent):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(ValidationError):
        transfer_handover_request(transfer=announced, actor=legal)
    with time_machine.travel(after_deadline(announced), tick=False), pytest.raises(PermissionDenied):
        transfer_handover_request(transfer=announced, actor=support_agent)
    announced.refresh_from_db()
    assert announced.status == Status.PUBLISHED


def test_clients_still_see_their_transfer_while_it_is_being_handed_over(announced, legal, owner, client):
    with time_machine.travel(after_deadline(announced), tick=False):
        transfer_handover_request(transfer=announced, actor=legal)
    client.force_login(owner.user)
    assert client.get(reverse("transfers:detail", args=[announced.public_id])).status_code == 200
    assert "Announced: a business transfer" in client.get(reverse("sharing:received")).content.decode()
