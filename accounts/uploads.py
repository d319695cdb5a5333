"""Uploaded papers (consent evidence, disclosure documents): type checked by content, size limited, renamed.

Files land under MEDIA_ROOT, which no URL serves; staff download them through permission-checked admin views.
"""

import uuid
from pathlib import Path

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Extension → how the file must begin: the name alone proves nothing about the content.
DOCUMENT_SIGNATURES = {".pdf": [b"%PDF-"], ".png": [b"\x89PNG\r\n\x1a\n"], ".jpg": [b"\xff\xd8\xff"],
                       ".jpeg": [b"\xff\xd8\xff"]}


def document_upload_check(upload, *, max_bytes: int):
    """Refuse anything but a real PDF, PNG or JPEG under `max_bytes`; give it a random name (no personal data in
    file paths). Returns the same upload object."""
    suffix = Path(upload.name).suffix.lower()
    if suffix not in DOCUMENT_SIGNATURES:
        raise ValidationError(_("Upload a PDF, PNG or JPEG file (the file was “%(name)s”)."),
                              code="scan_type", params={"name": upload.name})
    if upload.size > max_bytes:
        raise ValidationError(_("The file is larger than %(mb)s MB; upload a smaller copy.") % {"mb": max_bytes // 2**20},
                              code="scan_size")
    head = upload.read(8)
    upload.seek(0)
    if not any(head.startswith(signature) for signature in DOCUMENT_SIGNATURES[suffix]):
        raise ValidationError(_("The file is not a real %(type)s file; upload a PDF, PNG or JPEG."),
                              code="scan_content", params={"type": suffix[1:].upper()})
    upload.name = f"{uuid.uuid4().hex}{suffix}"
    return upload

