"""The admin's "Publish…" page for a draft: choose when it takes effect, then `policy_publish` checks the notice period.

PIPL Art. 17: a material change gives clients POLICY_NOTICE_DAYS to object or withdraw before it applies; the page
proposes that date and shows the service's refusal as it is. Publishing cannot be undone.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from .forms import PolicyPublishForm
from .models import PolicyVersion
from .rendering import policy_diff
from .services import notice_period, policy_publish

PUBLISH_PERMISSION = "amendments.change_policyversion"


def _latest_published() -> PolicyVersion | None:
    return PolicyVersion.objects.filter(published_at__isnull=False).order_by("-effective_at", "-id").first()


def _shown(moment) -> str:
    local = timezone.localtime(moment)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({timezone.get_current_timezone_name()})"


def policy_publish_page(request, object_id, *, model_admin):
    if not request.user.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied
    version = get_object_or_404(PolicyVersion, pk=object_id)
    change_url = reverse("admin:amendments_policyversion_change", args=[version.pk])
    if version.is_published:
        messages.info(request, _("Version %(label)s is already published.") % {"label": version.label})
        return redirect(change_url)
    now = timezone.now()
    form = PolicyPublishForm(request.POST if request.method == "POST" else None, version=version, now=now)
    if request.method == "POST" and form.is_valid():
        try:
            # The same `now` as the form's, so "at once" is not a moment in the past by the time the service runs.
            version = policy_publish(version=version, effective_at=form.cleaned_data["effective_at"],
                                     published_by=request.user, now=now)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Version %(label)s is published. It takes effect on %(when)s.")
                             % {"label": version.label, "when": _shown(version.effective_at)})
            return redirect(change_url)
    previous = _latest_published()
    # DiffBlock.html comes from policy_html, sanitised by nh3.
    changes = policy_diff(previous.body_en, version.body_en) if previous else []
    diff = [(b.kind, mark_safe(b.html)) for b in changes if b.kind != "same"]
    return TemplateResponse(request, "admin/amendments/policyversion/publish.html", {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts, "title": _("Publish version %(label)s") % {"label": version.label},
        "original": version, "form": form, "change_url": change_url, "previous": previous, "diff": diff,
        "notice_days": notice_period().days, "earliest": _shown(now + notice_period()),
    })
