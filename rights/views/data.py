"""“Your data”: everything held about the client in one place, each category with why it is held, on what legal basis
and for how long (GDPR Art. 15; PIPL Art. 45; CCPA 1798.110). The categories come from `rights.inventory`, the same
declaration the export is built from.

The page costs one query per category whatever the history's length: the newest rows and the total come together
(a window count), and long lists continue on a paginated page of their own.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access_log import staff_access_summary
from accounts.models import Client
from consent.views import client_required

from ..inventory import BY_CODE, CATEGORIES, Category, purposes_by_code

SHOWN_PER_CATEGORY = 10
CATEGORY_PAGE_SIZE = 50

# Pages elsewhere in the portal that do more with a category than list it.
RELATED_PAGES = {
    "consent_states": ("consent:choices", gettext_lazy("Change your choices")),
    "consent_history": ("consent:history", gettext_lazy("Download your consent receipts")),
    "sharing_records": ("sharing:received", gettext_lazy("See who received your data, grouped by recipient")),
}


@dataclass(frozen=True)
class Cell:
    """One value as the client reads it; `moment` feeds the <time> element."""

    text: str
    moment: datetime | date | None = None

    @property
    def empty(self) -> bool:
        return self.text == ""


def cell(value) -> Cell:
    if value is None or value == "" or value == []:
        return Cell("")
    if isinstance(value, bool):
        return Cell(_("Yes") if value else _("No"))
    if isinstance(value, datetime):
        return Cell(formats.date_format(timezone.localtime(value), "DATETIME_FORMAT"), value)
    if isinstance(value, date):
        return Cell(formats.date_format(value, "DATE_FORMAT"), value)
    if isinstance(value, list):
        return Cell(", ".join(str(v) for v in value))
    return Cell(str(value))


@dataclass
class Section:
    """One category on the page: what it is, and its first rows as cells."""

    category: Category
    uses: list[str]
    rows: list[list[Cell]]
    total: int
    related: tuple[str, str] | None = None

    @property
    def labels(self) -> list[str]:
        return [label for _key, label in self.category.columns]

    @property
    def fields(self) -> list[tuple[str, Cell]]:
        """A one-row category (who you are) as label/value pairs."""
        return list(zip(self.labels, self.rows[0], strict=True)) if self.rows else []

    @property
    def more(self) -> bool:
        return self.total > len(self.rows)


def _cells(category: Category, rows: list[dict]) -> list[list[Cell]]:
    return [[cell(row.get(key)) for key in category.keys] for row in rows]


def _related(code: str) -> tuple[str, str] | None:
    if code not in RELATED_PAGES:
        return None
    name, label = RELATED_PAGES[code]
    return reverse(name), str(label)


def sections_for(*, client: Client) -> list[Section]:
    purposes = purposes_by_code()
    sections = []
    for category in CATEGORIES:
        rows, total = category.first_rows(client, limit=SHOWN_PER_CATEGORY)
        uses = [purposes[code].title for code in category.purpose_codes if code in purposes]
        sections.append(Section(category, uses, _cells(category, rows), total, _related(category.code)))
    return sections


def url_if_built(name: str) -> str | None:
    """The link to a page another part of the rights work provides, once it exists."""
    try:
        return reverse(name)
    except NoReverseMatch:
        return None


@client_required
def your_data(request, client):
    # Correct, erase, object and ask are built by other parts of the rights work: each is linked once its URL resolves.
    return render(request, "rights/data/your_data.html", {
        "client": client, "sections": sections_for(client=client), "staff_access": staff_access_summary(client),
        "correct_url": url_if_built("rights:correct"), "erase_url": url_if_built("rights:erase"),
        "object_url": url_if_built("rights:object"), "question_url": url_if_built("rights:question_new"),
    })


@client_required
def category_rows(request, client, code):
    category = BY_CODE.get(code)
    if category is None:
        raise Http404
    page = Paginator(category.read(client), CATEGORY_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _cells(category, [category.row(o) for o in page.object_list])
    uses = [p.title for code_, p in purposes_by_code().items() if code_ in category.purpose_codes]
    section = Section(category, uses, rows, page.paginator.count, _related(category.code))
    return render(request, "rights/data/category.html", {"client": client, "section": section, "page": page})


urlpatterns = [
    path("portal/data/", your_data, name="data"),
    path("portal/data/all/<slug:code>/", category_rows, name="data_category"),
]
