"""Staff pages added to the sharing admin: creating an API key (shown once) and ending an agreement. Each checks its
permission, validates a form and calls a service; nothing else."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .forms import ApiKeyCreateForm
from .models import SharingAgreement
from .services import affiliate_key_create, agreement_end

END_AGREEMENT_PERMISSION = "sharing.change_sharingagreement"


def _context(request, model_admin, *, title, **extra):
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": title, **extra}


def api_key_add(request, *, model_admin):
    """The key is rendered in the response to the POST that made it, and nowhere else: not in the database (only
    its hash), not in a message kept in the session, not in a page a cache or the back button could bring back."""
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    title = _("Create an API key")
    form = ApiKeyCreateForm(request.POST or None, initial={"affiliate": request.GET.get("affiliate")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            api_key, key = affiliate_key_create(affiliate=data["affiliate"], name=data["name"],
                                                expires_at=data["expires_at"], created_by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            model_admin.log_addition(request, api_key, [{"added": {}}])
            response = TemplateResponse(request, "admin/sharing/apikey/created.html", _context(
                request, model_admin, title=_("Your new API key"), api_key=api_key, key=key))
            add_never_cache_headers(response)
            return response
    return TemplateResponse(request, "admin/sharing/apikey/add.html", _context(
        request, model_admin, title=title, form=form, media=model_admin.media + form.media))


def agreement_end_confirm(request, agreement_id, *, model_admin):
    """Ending an agreement tells the affiliate to delete what it received under it (withdrawal notices)."""
    if not request.user.has_perm(END_AGREEMENT_PERMISSION):
        raise PermissionDenied
    agreement = get_object_or_404(SharingAgreement.objects.select_related("affiliate", "purpose"), pk=agreement_id)
    back = reverse("admin:sharing_affiliate_change", args=[agreement.affiliate_id])
    now = timezone.now()
    if agreement.valid_until is not None and agreement.valid_until <= now:
        messages.info(request, _("This agreement had already ended; nothing changed."))
        return redirect(back)
    if request.method == "POST":
        notices = agreement_end(agreement=agreement, at=now)
        model_admin.log_change(request, agreement.affiliate, [{"changed": {
            "name": str(SharingAgreement._meta.verbose_name), "object": str(agreement), "fields": ["valid_until"]}}])
        text = ngettext("The agreement “%(agreement)s” has ended. %(count)d withdrawal notice was sent to %(affiliate)s.",
                        "The agreement “%(agreement)s” has ended. %(count)d withdrawal notices were sent to %(affiliate)s.",
                        notices)
        messages.success(request, text % {"agreement": agreement, "count": notices, "affiliate": agreement.affiliate})
        return redirect(back)
    return TemplateResponse(request, "admin/sharing/affiliate/end_agreement.html", _context(
        request, model_admin, title=_("End a sharing agreement"), agreement=agreement, original=agreement.affiliate,
        back=back))
