"""CSV downloads of the dashboard's panels, safe to open in a spreadsheet."""

import csv

from django.http import HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from accounts.spreadsheet import spreadsheet_text


def csv_cell(value) -> str:
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe (accounts/spreadsheet.py), e.g.
    an affiliate named "=HYPERLINK(…)". Numbers are written as they are."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    return spreadsheet_text(text)


def csv_response(*, slug: str, header: list[str], rows: list[list]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"fulfillmen-{slug}-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return response
