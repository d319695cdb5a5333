"""Staff pages of the webhooks admin: creating an endpoint (its signing secret shown once), the steps on an endpoint
(rotate the secret, send a test event, enable, disable, delete) and redelivering one delivery. Each checks its
permission, validates and calls a service; nothing else. Every state change is a POST (with its CSRF token); a GET
shows what the step will do."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .events import test_event_send
from .forms import EndpointCreateForm
from .models import WebhookDelivery, WebhookEndpoint
from .services import deliveries_redeliver, endpoint_change, endpoint_create, endpoint_delete, endpoint_rotate, rotation_overlap

# Never shown, searched, filtered or sorted on: not even the encryption of a secret leaves the database.
SECRET_FIELDS = ("secret_encrypted", "previous_secret_encrypted")


def _context(request, model_admin, *, title, **extra):
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": title, **extra}


def _secret_page(request, model_admin, *, endpoint, secret, title, rotated=False):
    """The secret is in the response to the POST that made it and nowhere else: not in the database (only its
    encryption), not in a message kept in the session, not in a page a cache or the back button could bring back."""
    response = TemplateResponse(request, "admin/webhooks/webhookendpoint/secret.html", _context(
        request, model_admin, title=title, endpoint=endpoint, secret=secret, rotated=rotated, original=endpoint,
        change_url=reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])))
    add_never_cache_headers(response)
    return response


def endpoint_add(request, *, model_admin):
    if not model_admin.has_add_permission(request):
        raise PermissionDenied
    form = EndpointCreateForm(request.POST or None, initial={"affiliate": request.GET.get("affiliate")})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            endpoint, secret = endpoint_create(affiliate=data["affiliate"], url=data["url"], events=data["events"],
                                               created_by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            model_admin.log_addition(request, endpoint, [{"added": {}}])
            return _secret_page(request, model_admin, endpoint=endpoint, secret=secret,
                                title=_("The new endpoint's signing secret"))
    return TemplateResponse(request, "admin/webhooks/webhookendpoint/add.html", _context(
        request, model_admin, title=_("Add a webhook endpoint"), form=form))


@dataclass(frozen=True)
class Step:
    name: str
    label: Promise
    submit: Promise
    explanation: Promise


STEPS = {step.name: step for step in [
    Step("rotate", gettext_lazy("Rotate the signing secret…"), gettext_lazy("Rotate the secret now"),
         gettext_lazy("A new secret signs every delivery from now on and is shown once, on the next page. The current "
                      "secret keeps signing too, for %(hours)s hours, so the recipient can switch without losing a "
                      "message; after that only the new one signs.")),
    Step("test", gettext_lazy("Send a test event…"), gettext_lazy("Send the test event"),
         gettext_lazy("A “webhook.test” event goes to this endpoint only, signed like every other, and appears in the "
                      "delivery log. It names no client.")),
    Step("disable", gettext_lazy("Disable…"), gettext_lazy("Disable the endpoint"),
         gettext_lazy("Nothing is sent here until it is enabled again; new events wait for it meanwhile. The "
                      "recipient is still told of everything through the withdrawal feed.")),
    Step("enable", gettext_lazy("Enable…"), gettext_lazy("Enable the endpoint"),
         gettext_lazy("Deliveries start again at once, the waiting ones first, and the failure count starts from "
                      "zero.")),
    Step("delete", gettext_lazy("Delete…"), gettext_lazy("Delete the endpoint"),
         gettext_lazy("Nothing more is sent here, and it cannot be enabled again. Its delivery log is kept: it is the "
                      "evidence of what the recipient was told and when.")),
]}


def steps_open(endpoint: WebhookEndpoint) -> list[Step]:
    """What can be done to the endpoint as it stands: nothing once it is deleted."""
    if endpoint.deleted_at is not None:
        return []
    names = ["rotate", "test", "disable", "delete"] if endpoint.enabled else ["rotate", "enable", "delete"]
    return [STEPS[name] for name in names]


def endpoint_step(request, object_id, step_name, *, model_admin):
    step = STEPS.get(step_name)
    if step is None:
        raise Http404
    if not model_admin.has_change_permission(request):
        raise PermissionDenied
    # Without the secrets: a step saves only the fields it loaded, so it can never write back a secret a rotation
    # just replaced.
    endpoint = get_object_or_404(WebhookEndpoint.objects.select_related("affiliate").defer(*SECRET_FIELDS), pk=object_id)
    change_url = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    if step.name not in {s.name for s in steps_open(endpoint)}:
        messages.info(request, _("That step does not apply to this endpoint as it stands; nothing changed."))
        return redirect(change_url)
    if request.method == "POST":
        return _step_do(request, model_admin, endpoint, step, change_url)
    hours = f"{rotation_overlap().total_seconds() / 3600:g}"
    return TemplateResponse(request, "admin/webhooks/webhookendpoint/step.html", _context(
        request, model_admin, title=step.label.rstrip("…"), step=step, original=endpoint, change_url=change_url,
        explanation=step.explanation % {"hours": hours} if step.name == "rotate" else step.explanation))


def _step_do(request, model_admin, endpoint, step, change_url):
    if step.name == "rotate":
        secret = endpoint_rotate(endpoint=endpoint)
        model_admin.log_change(request, endpoint, [{"changed": {"fields": [str(_("signing secret"))]}}])
        return _secret_page(request, model_admin, endpoint=endpoint, secret=secret, rotated=True,
                            title=_("The endpoint's new signing secret"))
    if step.name == "test":
        event = test_event_send(endpoint=endpoint)
        delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
        messages.success(request, _("A test event (%(id)s) is on its way to %(url)s: its outcome is below.")
                         % {"id": event.webhook_id, "url": endpoint.url})
        return redirect(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]))
    if step.name in ("enable", "disable"):
        endpoint_change(endpoint=endpoint, enabled=step.name == "enable")
        model_admin.log_change(request, endpoint, [{"changed": {"fields": ["enabled"]}}])
        messages.success(request, _("The endpoint is enabled.") if endpoint.enabled else _("The endpoint is disabled."))
        return redirect(change_url)
    endpoint_delete(endpoint=endpoint)
    model_admin.log_change(request, endpoint, [{"changed": {"fields": ["deleted_at"]}}])
    messages.success(request, _("The endpoint is deleted; its delivery log is kept."))
    return redirect(change_url)


@require_POST
def delivery_redeliver(request, object_id, *, model_admin):
    if not model_admin.has_redeliver_permission(request):
        raise PermissionDenied
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=object_id)
    if delivery.endpoint.deleted_at is not None:
        messages.info(request, _("Its endpoint is deleted: nothing is sent there any more."))
    elif deliveries_redeliver(delivery_ids=[delivery.pk]):
        model_admin.log_change(request, delivery, [{"changed": {"fields": ["status"]}}])
        messages.success(request, _("The delivery is sent again now, with the same webhook-id."))
    else:
        messages.info(request, _("The delivery is being sent right now; nothing changed."))
    return redirect(reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]))
