"""The portal page where a client accepts or objects to a pending material policy change (REQUIREMENTS §4).

No JavaScript: two POST buttons. The dashboard links here while the client has not answered.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.ip import request_ip
from amendments.models import PolicyVersion
from amendments.rendering import DiffBlock, policy_diff
from amendments.selectors import policy_in_force, policy_versions_published

from .policy_answers import policy_answer_of, policy_answer_record
from .services import consent_receipt_send
from .views import _shown_time, client_required

ANSWERS = {"accept": True, "object": False}


def _material_version(label: str) -> PolicyVersion:
    version = policy_versions_published().filter(label=label, is_material=True).first()
    if version is None:
        raise Http404
    return version


def _diff(old: PolicyVersion | None, new: PolicyVersion) -> tuple[list[DiffBlock], str]:
    """Both texts in the page's language when both have it, otherwise both in English: never one of each."""
    language = "zh-hans" if (get_language() or "").startswith("zh") else "en"
    if language != "en" and not (new.body_zh_hans.strip() and (old is None or old.body_zh_hans.strip())):
        language = "en"
    blocks = policy_diff(old.body(language) if old else "", new.body(language))
    # The HTML was sanitised by nh3 in policy_html; only then is it marked safe for the template.
    return [DiffBlock(b.kind, mark_safe(b.html)) for b in blocks], language  # nosec B308 B703  # nh3-sanitised


@require_http_methods(["GET", "HEAD", "POST"])
@client_required
def policy_answer(request, client, label):
    version = _material_version(label)
    if request.method == "POST":
        return _answer(request, client, version)
    in_force = policy_in_force()
    blocks, language = _diff(in_force if in_force and in_force.pk != version.pk else None, version)
    return render(request, "consent/policy_answer.html", {
        "client": client, "version": version, "in_force": in_force, "blocks": blocks, "diff_language": language,
        "pending": version.effective_at > timezone.now(), "answer": policy_answer_of(client=client, version=version),
    })


def _answer(request, client, version):
    choice = request.POST.get("answer", "")
    if choice not in ANSWERS:
        messages.error(request, _("Choose whether you accept or object to this version."))
        return redirect("consent:policy_answer", label=version.label)
    try:
        with transaction.atomic():
            event, created = policy_answer_record(
                client=client, version=version, accept=ANSWERS[choice], ip_address=request_ip(request),
                user_agent=request.headers.get("User-Agent", ""))
            if created:
                consent_receipt_send(event=event)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("consent:policy_answer", label=version.label)
    values = {"label": version.label, "when": _shown_time(version.effective_at)}
    if ANSWERS[choice]:
        messages.success(request, _("You accepted version %(label)s of the privacy policy. It takes effect on %(when)s.")
                         % values)
    else:
        messages.success(request, _(
            "Your objection to version %(label)s of the privacy policy was recorded. Our privacy team reviews every "
            "objection before the change takes effect on %(when)s; you can also withdraw any consent under “Your "
            "choices”.") % values)
    return redirect("portal:dashboard")
