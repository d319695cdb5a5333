"""The record of processing as an HTML document or a CSV file, in English or Simplified Chinese. The management
command and the admin's downloads both call `record_render`, so the file is the same whichever way it is made."""

import csv
import io

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext, pgettext

from accounts.spreadsheet import spreadsheet_text

from .record import processing_record

FORMATS = ("html", "csv")
LANGUAGES = ("en", "zh-hans")
CONTENT_TYPES = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8"}


def record_csv(record) -> str:
    """One row per fact: section, reference, subject, item, value. The header is in the record's language; cells
    that a spreadsheet would run as a formula are defused. Starts with a byte-order mark so spreadsheets read UTF-8."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([pgettext("record of processing", "Section"), gettext("Reference"),
                     pgettext("record of processing", "Subject"), pgettext("record of processing", "Item"),
                     pgettext("record of processing", "Value")])
    for section in record.sections:
        for entry in section.entries:
            for fact in entry.facts:
                writer.writerow([spreadsheet_text(str(cell)) for cell in
                                 (section.title, entry.reference, entry.name, fact.label, fact.value)])
    return "\ufeff" + out.getvalue()


def record_render(*, fmt: str, language: str) -> str:
    """The record as it stands now, as `fmt` ("html" or "csv") in `language` ("en" or "zh-hans")."""
    if fmt not in FORMATS or language not in LANGUAGES:
        raise ValueError(f"unknown format or language: {fmt!r}, {language!r}")
    with translation.override(language):
        record = processing_record()
        if fmt == "csv":
            return record_csv(record)
        return render_to_string("processing/record.html", {"record": record})


def record_filename(*, fmt: str, language: str, day) -> str:
    return f"fulfillmen-record-of-processing-{language}-{day.isoformat()}.{fmt}"
