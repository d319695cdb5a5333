"""Export (access and portability): ask for a copy after re-entering the password, then download it from the link
e-mailed — only the owner, only for 7 days (11 CCR 7060-7062: a logged-in client re-authenticates before an export).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from consent.views import client_required

from ..export import LINK_VALID_FOR, export_download_record, export_is_expired, export_request, exports_building
from ..inventory import CATEGORIES
from ..models import DataExport
from ..reauth import PasswordConfirmForm

RECENT_EXPORTS = 5


@never_cache
@client_required
def export_ask(request, client):
    form = PasswordConfirmForm(request.POST if request.method == "POST" else None, user=request.user, request=request)
    if request.method == "POST" and form.is_valid():
        try:
            export_request(client=client)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _(
                "We are preparing your export. When it is ready we will e-mail a download link to %(email)s; it works "
                "for 7 days.") % {"email": client.email})
        return redirect("rights:export")
    now = timezone.now()
    recent = [(e, e.status == DataExport.Status.READY and bool(e.file) and not export_is_expired(e, now=now))
              for e in DataExport.objects.filter(client=client).order_by("-created_at", "-pk")[:RECENT_EXPORTS]]
    return render(request, "rights/export/ask.html", {
        "client": client, "form": form, "categories": CATEGORIES, "recent": recent,
        "building": exports_building(client=client).first(), "link_days": LINK_VALID_FOR.days,
    }, status=400 if form.errors else 200)


@never_cache
@client_required
def export_download(request, client, public_id):
    export = DataExport.objects.filter(client=client, public_id=public_id).first()
    if export is None:  # another client's export looks exactly like one that does not exist
        raise Http404
    if export.status == DataExport.Status.BUILDING:
        messages.info(request, _("Your export is still being prepared. We will e-mail you as soon as it is ready."))
        return redirect("rights:export")
    if export.status == DataExport.Status.FAILED:
        messages.error(request, _("This export could not be prepared. Please ask for a new one; your request stays "
                                  "open with our privacy team, who will follow it up."))
        return redirect("rights:export")
    if export_is_expired(export) or not export.file:
        return render(request, "rights/export/expired.html", {"client": client, "export": export}, status=410)
    try:
        handle = export.file.open("rb")
    except FileNotFoundError:  # removed by the sweep a moment ago
        return render(request, "rights/export/expired.html", {"client": client, "export": export}, status=410)
    export_download_record(export=export)
    name = f"fulfillmen-your-data-{timezone.localtime(export.ready_at):%Y-%m-%d}.zip"
    return FileResponse(handle, as_attachment=True, filename=name, content_type="application/zip")


urlpatterns = [
    path("portal/data/export/", export_ask, name="export"),
    path("portal/data/exports/<uuid:public_id>/", export_download, name="export_download"),
]
