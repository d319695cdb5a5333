"""The admin's "Publish…" page for a draft: choose when it takes effect, then `policy_publish` checks the notice period.

PIPL Art. 17: a material change gives clients POLICY_NOTICE_DAYS to object or withdraw before it applies, any other
change POLICY_MINOR_NOTICE_DAYS of prior notice; the page proposes that date and shows the service's refusal as it is.
Publishing cannot be undone.

Once published, the "Notices" page shows how far the notices have gone and lets a privacy officer put the failed
ones back in the queue: proof that every client was told is part of the notice duty.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .forms import PolicyPublishForm
from .models import NoticeDelivery, PolicyVersion
from .notices import notices_resend_failed
from .rendering import policy_diff
from .services import notice_period, policy_publish
from .tasks import send_notices_soon

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
    diff = [(b.kind, mark_safe(b.html)) for b in changes if b.kind != "same"]  # nosec B308 B703  # nh3-sanitised
    return TemplateResponse(request, "admin/amendments/policyversion/publish.html", {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts, "title": _("Publish version %(label)s") % {"label": version.label},
        "original": version, "form": form, "change_url": change_url, "previous": previous, "diff": diff,
        "notice_days": notice_period(material=version.is_material).days,
        "earliest": _shown(now + notice_period(material=version.is_material)),
    })


# --- Deliveries of a published version's notices ---------------------------------------------------------------

VIEW_PERMISSION = "amendments.view_policyversion"
FAILED_PER_PAGE = 50
FINISHED = (NoticeDelivery.Status.SENT, NoticeDelivery.Status.FAILED, NoticeDelivery.Status.SKIPPED)
IN_PROGRESS = (NoticeDelivery.Status.QUEUED, NoticeDelivery.Status.CLAIMED)


def delivery_counts(*, version: PolicyVersion, kind: str) -> list[dict]:
    """Per channel: the count of each status, the total and the finished share, from ONE aggregate query."""
    counted = {(row["channel"], row["status"]): row["n"] for row in (
        NoticeDelivery.objects.filter(version=version, kind=kind)
        .values("channel", "status").annotate(n=Count("id")).order_by())}
    rows = []
    for channel, channel_label in NoticeDelivery.Channel.choices:
        cells = [counted.get((channel, status), 0) for status in NoticeDelivery.Status.values]
        total = sum(cells)
        finished = sum(counted.get((channel, status), 0) for status in FINISHED)
        rows.append({
            "channel": channel, "label": channel_label, "cells": cells, "total": total, "finished": finished,
            "in_progress": sum(counted.get((channel, status), 0) for status in IN_PROGRESS),
            "failed": counted.get((channel, NoticeDelivery.Status.FAILED), 0),
            "percent": finished * 100 // total if total else None,
        })
    return rows


class CountedPaginator(Paginator):
    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.known_count = count

    @cached_property
    def count(self):
        return self.known_count


def _kind_asked(request) -> str:
    kind = request.GET.get("kind", NoticeDelivery.Kind.NOTICE)
    return kind if kind in NoticeDelivery.Kind.values else NoticeDelivery.Kind.NOTICE


def policy_deliveries_page(request, object_id, *, model_admin):
    """How far the notices of a published version have gone, per channel, and which ones failed and why."""
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied
    version = get_object_or_404(PolicyVersion, pk=object_id)
    change_url = reverse("admin:amendments_policyversion_change", args=[version.pk])
    if not version.is_published:
        messages.info(request, _("Version %(label)s is a draft: no notice has been sent yet.") % {"label": version.label})
        return redirect(change_url)
    kind = _kind_asked(request)
    channels = delivery_counts(version=version, kind=kind)
    failed = (NoticeDelivery.objects.filter(version=version, kind=kind, status=NoticeDelivery.Status.FAILED)
              .select_related("client").order_by("id"))
    # The aggregate counted the failed rows already: the paginator needs no COUNT query of its own.
    paginator = CountedPaginator(failed, FAILED_PER_PAGE, count=sum(row["failed"] for row in channels))
    page = paginator.get_page(request.GET.get("page"))
    return TemplateResponse(request, "admin/amendments/policyversion/deliveries.html", {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts, "title": _("Notices of version %(label)s") % {"label": version.label},
        "original": version, "change_url": change_url, "kind": kind, "kinds": NoticeDelivery.Kind.choices,
        "statuses": NoticeDelivery.Status.choices, "channels": channels, "page": page,
        "in_progress": any(row["in_progress"] for row in channels),
        "can_resend": request.user.has_perm(PUBLISH_PERMISSION),
        "all_deliveries_url": reverse("admin:amendments_noticedelivery_changelist") + f"?version__id__exact={version.pk}",
    })


@require_POST
def policy_deliveries_resend(request, object_id, *, model_admin):
    """Failed notices back in the queue (the same rows: still one per client and channel), sent again on commit."""
    if not request.user.has_perm(PUBLISH_PERMISSION):
        raise PermissionDenied
    version = get_object_or_404(PolicyVersion, pk=object_id, published_at__isnull=False)
    with transaction.atomic():
        kinds = set(NoticeDelivery.objects.filter(version=version, status=NoticeDelivery.Status.FAILED)
                    .values_list("kind", flat=True).distinct())
        queued = notices_resend_failed(version=version)
        for kind in sorted(kinds):  # reminders too, not only the first notice
            transaction.on_commit(lambda kind=kind: send_notices_soon(version.pk, kind), robust=True)
    messages.success(request, ngettext("%(count)d failed delivery queued again", "%(count)d failed deliveries queued again",
                                       queued) % {"count": queued})
    return redirect(reverse("admin:amendments_policyversion_deliveries", args=[version.pk]))
