"""The notice to the supervisory authority, generated from the record, in English and in Simplified Chinese.

GDPR Art. 33(3): (a) the nature of the breach, the categories and approximate numbers of data subjects and records;
(b) the data protection officer's contact; (c) the likely consequences; (d) the measures taken or proposed. PIPL
Art. 57: the categories of personal information, the cause and the possible harm, the remedial measures, what
individuals can do to reduce the harm, and the contact. GDPR allows 72 hours; PIPL asks for the notice immediately.
"""

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Language
from consent.models import DataCategory

from .client_notices import breach_text
from .clock import breach_clock
from .models import Breach
from .selectors import breach_subject_counts

LANGUAGES = [Language.EN, Language.ZH_HANS]


def _when(value) -> str:
    if not value:
        return _("Not known")
    local = timezone.localtime(value)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} {local.tzname()}"


def _number(value, identified: int) -> str:
    if value is None:
        return _("Not yet known; %(count)d clients identified so far") % {"count": identified}
    return _("About %(count)d") % {"count": value}


def notice_sections(breach: Breach, *, language: str, viewer) -> tuple[str, list[tuple[str, str]]]:
    """(title, [(heading, text)]) of the notice in one language."""
    counts = breach_subject_counts(breach=breach, viewer=viewer)
    controller = settings.PII_CONTROLLER
    with translation.override(language):
        categories = ", ".join(str(DataCategory(c).label) for c in breach.categories if c in DataCategory.values)
        sections = [
            (_("Controller"), f"{controller['name']}, {controller['address']}"),
            (_("Breach reference"), f"BR-{breach.pk:04d}"),
            (_("Discovered at"), _when(breach.discovered_at)),
            (_("Occurred"), f"{_when(breach.occurred_from)} – {_when(breach.occurred_until)}"),
            (_("(a) Nature of the breach and its cause"), breach_text(breach, "nature", language)),
            (_("(a) Categories of personal data"), categories),
            (_("(a) Approximate number of data subjects"), _number(breach.approx_clients, counts["total"])),
            (_("(a) Approximate number of personal data records"), _number(breach.approx_records, counts["total"])),
            (_("(b) Data protection officer or other contact point"), breach.dpo_contact),
            (_("(c) Likely consequences and possible harm"), breach_text(breach, "consequences", language)),
            (_("(d) Measures taken or proposed, including to mitigate adverse effects"),
             breach_text(breach, "measures", language)),
            (_("What individuals can do to reduce the harm (PIPL Art. 57(3))"),
             breach_text(breach, "client_advice", language) or "—"),
            (_("Timing of this notice"), breach_clock(breach).text + (
                "\n" + _("Reasons for the delay: %(reason)s") % {"reason": breach.delay_reason} if breach.delay_reason else "")),
        ]
        if breach.authority_notified_at:
            sections.append((_("Notified to"), f"{breach.authority_name} · {_when(breach.authority_notified_at)} · "
                                               f"{breach.authority_reference or '—'}"))
        title = _("Notification of a personal data breach (GDPR Art. 33, PIPL Art. 57)")
    return title, sections


def notice_markdown(breach: Breach, *, viewer) -> str:
    parts = []
    for language in LANGUAGES:
        title, sections = notice_sections(breach, language=language, viewer=viewer)
        parts.append(f"# {title}\n\n" + "\n\n".join(f"## {heading}\n\n{text}" for heading, text in sections))
    return "\n\n---\n\n".join(parts) + "\n"


def notice_html(breach: Breach, *, viewer) -> str:
    versions = []
    for language in LANGUAGES:
        title, sections = notice_sections(breach, language=language, viewer=viewer)
        versions.append({"language": language, "title": title, "sections": sections})
    return render_to_string("breaches/authority_notice.html", {"versions": versions, "breach": breach})
