"""The public privacy policy: the version in force, every published version, its Markdown, and what changed.

PIPL Art. 17: the processing rules are public, easy to read and easy to save. These pages need no login on purpose
(anyone may read the policy before signing up), they only ever read published versions, and they only show
Markdown through `policy_html`, which sanitises it. A draft looks exactly like a version that does not exist.
"""

import re
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from .forms import VersionsDiffForm
from .models import PolicyVersion
from .rendering import policy_diff, policy_html
from .selectors import policy_in_force, policy_versions_published

NEWEST_FIRST = ("-effective_at", "-id")


def _published_or_404(label: str) -> PolicyVersion:
    version = policy_versions_published().filter(label=label).first()
    if version is None:
        raise Http404
    return version


def _previous(version: PolicyVersion) -> PolicyVersion | None:
    """The published version that was in force before this one."""
    earlier = Q(effective_at__lt=version.effective_at) | Q(effective_at=version.effective_at, id__lt=version.id)
    return policy_versions_published().filter(earlier).order_by(*NEWEST_FIRST).first()


def _language(requested: str | None = None) -> str:
    """`zh-hans` or `en`: the one asked for if it is one of ours, otherwise the page's."""
    requested = (requested or "").lower()
    code = requested if requested in dict(settings.LANGUAGES) else get_language() or "en"
    return "zh-hans" if code.startswith("zh") else "en"


def _shown_language(version: PolicyVersion, language: str) -> str:
    """The language `version.body(language)` is really in (it falls back to English)."""
    return language if language == "en" or version.body_zh_hans.strip() else "en"


_HEADING_TAG = re.compile(r"<(/?)h([1-5])>")


def _shown_html(html: str) -> SafeString:
    """Sanitised policy HTML for a page that has its own <h1>: the text's headings move one level down.

    Only policy_html's output comes here: nh3 keeps harmless tags only, and headings without attributes.
    """
    return mark_safe(_HEADING_TAG.sub(lambda m: f"<{m[1]}h{int(m[2]) + 1}>", html))  # nosec B308 B703  # see above


def _text(version: PolicyVersion, language: str) -> SafeString:
    return _shown_html(policy_html(version.body(language)))


def _status(version: PolicyVersion, *, in_force: PolicyVersion | None, now) -> str:
    if version.effective_at > now:
        return "upcoming"
    return "in-force" if in_force is not None and version.pk == in_force.pk else "superseded"


def policy_current(request):
    now = timezone.now()
    version = policy_in_force(at=now)
    upcoming = list(policy_versions_published().filter(effective_at__gt=now).order_by("effective_at", "id"))
    language = _shown_language(version, _language()) if version else "en"
    return render(request, "amendments/current.html", {
        "version": version, "text": _text(version, language) if version else "", "text_language": language,
        "upcoming": upcoming,
    })


def version_history(request):
    now = timezone.now()
    in_force = policy_in_force(at=now)
    versions = [(v, _status(v, in_force=in_force, now=now)) for v in policy_versions_published().order_by(*NEWEST_FIRST)]
    return render(request, "amendments/versions.html", {"versions": versions})


def version_detail(request, label):
    version = _published_or_404(label)
    now = timezone.now()
    language = _shown_language(version, _language())
    return render(request, "amendments/version.html", {
        "version": version, "text": _text(version, language), "text_language": language, "previous": _previous(version),
        "status": _status(version, in_force=policy_in_force(at=now), now=now),
        "has_chinese": bool(version.body_zh_hans.strip()),
    })


def _file_name(version: PolicyVersion, language: str) -> str:
    label = re.sub(r"[^A-Za-z0-9._-]+", "-", version.label).strip("-.") or str(version.pk)
    return f"fulfillmen-privacy-policy-{label}.{language}.md"


def version_markdown(request, label):
    """The text exactly as published, to keep (`?lang=zh-hans` or `?lang=en`; default: the page's language)."""
    version = _published_or_404(label)
    language = _shown_language(version, _language(request.GET.get("lang")))
    response = HttpResponse(version.body(language), content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, _file_name(version, language))
    response["Content-Language"] = language
    return response


@dataclass(frozen=True)
class ShownBlock:
    kind: str
    html: SafeString


def _diff(old: PolicyVersion, new: PolicyVersion) -> tuple[list[ShownBlock], str]:
    """Both texts in the page's language when both have it, otherwise both in English: never one of each."""
    language = _language()
    if "en" in (_shown_language(old, language), _shown_language(new, language)):
        language = "en"
    blocks = [ShownBlock(b.kind, _shown_html(b.html)) for b in policy_diff(old.body(language), new.body(language))]
    return blocks, language


def _chosen(request, versions) -> tuple[VersionsDiffForm, tuple | None]:
    """The form and the pair (old, new) to compare: as asked, or by default the previous and the latest version."""
    if "from" not in request.GET and "to" not in request.GET:
        pair = (versions[1], versions[0]) if len(versions) >= 2 else None
        initial = {"from": pair[0].label, "to": pair[1].label} if pair else {}
        return VersionsDiffForm(versions=versions, initial=initial), pair
    form = VersionsDiffForm(request.GET, versions=versions)
    if not form.is_valid():
        return form, None
    by_label = {v.label: v for v in versions}
    return form, (by_label[form.cleaned_data["from"]], by_label[form.cleaned_data["to"]])


def versions_diff(request):
    versions = list(policy_versions_published().order_by(*NEWEST_FIRST))
    form, pair = _chosen(request, versions)
    context = {"form": form, "versions": versions}
    if pair is not None:
        blocks, language = _diff(*pair)
        context.update(old=pair[0], new=pair[1], blocks=blocks, diff_language=language,
                       added=sum(b.kind == "added" for b in blocks), removed=sum(b.kind == "removed" for b in blocks))
    return render(request, "amendments/diff.html", context, status=400 if form.is_bound and form.errors else 200)
