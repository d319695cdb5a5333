"""Where uploaded papers live (issue #10): disclosure documents and consent evidence scans are stored under
MEDIA_ROOT, which is outside every directory the web server serves and has no URL; the only way to read one is the
permission-checked admin download (tested in test_admin.py and tests/consent/test_staff_entry.py)."""

from datetime import date
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile

from consent.models import Channel, ConsentAction, ConsentEventPersonalData, Purpose
from consent.services import Evidence, consent_record
from disclosures.services import disclosure_document_add
from tests.conftest import make_client

from .test_admin import PDF, record

pytestmark = pytest.mark.django_db


def test_media_root_is_outside_every_served_directory():
    media = Path(django_settings.MEDIA_ROOT).resolve()
    served = [Path(django_settings.STATIC_ROOT), *map(Path, django_settings.STATICFILES_DIRS)]
    served += [Path(django_settings.BASE_DIR) / "templates"]
    for directory in served:
        directory = directory.resolve()
        assert not media.is_relative_to(directory) and not directory.is_relative_to(media), (media, directory)
    assert getattr(django_settings, "WHITENOISE_ROOT", None) is None  # WhiteNoise serves static files only


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def not_served(client, name: str):
    """No URL reaches the stored file, whatever prefix a misconfigured server might use."""
    prefixes = {"/", "/media/", "/static/", f"/{django_settings.MEDIA_URL.strip('/')}/".replace("//", "/"),
                f"/{django_settings.STATIC_URL.strip('/')}/"}
    for prefix in prefixes:
        response = client.get(f"{prefix}{name}")
        assert response.status_code == 404, (prefix, response.status_code)


def test_a_disclosure_document_is_stored_under_media_root_with_a_random_name_and_is_not_served(client, media, legal):
    disclosure = record(legal, [make_client()])
    document = disclosure_document_add(disclosure=disclosure, kind="request", uploaded_by=legal,
                                       upload=SimpleUploadedFile("Warrant of Li Wei.pdf", PDF))
    path = Path(document.file.path)
    assert path.is_relative_to(media) and path.read_bytes() == PDF
    assert "Li Wei" not in document.file.name
    client.force_login(legal)  # even staff get it only through the download view
    not_served(client, document.file.name)


def test_a_consent_evidence_scan_is_stored_under_media_root_and_is_not_served(client, media, privacy_officer):
    owner = make_client("scan@example.com")
    event, _ = consent_record(client=owner, purpose=Purpose.objects.get(code="marketing-messages"),
                              action=ConsentAction.WITHDRAW, channel=Channel.LETTER, recorded_by=privacy_officer,
                              evidence=Evidence(reference="LTR-9", received_on=date(2026, 1, 5),
                                                file=SimpleUploadedFile("scan.pdf", PDF)))
    stored = ConsentEventPersonalData.objects.get(event=event).evidence_file
    assert Path(stored.path).is_relative_to(media) and Path(stored.path).read_bytes() == PDF
    client.force_login(privacy_officer)
    not_served(client, stored.name)
