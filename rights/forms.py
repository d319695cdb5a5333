"""Forms of the request queue: the public request form, the portal's question form, and the staff forms of the admin.

The forms only shape the input; the rules (legal maximum of an extension, a refusal's reason, who may be assigned)
are the services', and their refusals come back on the form through `service_error_add`.
"""

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.form_errors import service_error_add  # noqa: F401  (re-exported for views)
from accounts.models import User

from .intake import request_record_by_staff
from .models import DataSubjectRequest, LegalHold, ResponseDeadlineRule
from .services import CLOSED, WORK_PERMISSION, legal_hold_set

Kind = DataSubjectRequest.Kind
Status = DataSubjectRequest.Status
DETAILS_MAX = 5000


def _text(label, *, required=True, rows=5, max_length=DETAILS_MAX, help_text=""):
    return forms.CharField(label=label, required=required, max_length=max_length, help_text=help_text,
                           widget=forms.Textarea(attrs={"rows": rows, "cols": 70}))


# --- Public pages ---------------------------------------------------------------------------------------------------


class PublicRequestForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    email = forms.EmailField(label=_("Your e-mail address"), max_length=254,
                             help_text=_("We send a link to this address; your request counts once you open it."),
                             widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    kind = forms.ChoiceField(label=_("What do you ask for?"), choices=Kind.choices, widget=forms.RadioSelect)
    details = _text(_("Details"), required=False, rows=6, help_text=_(
        "Anything that helps us find your data or understand your request, e.g. an order or account number. "
        "Please do not send identity documents here: we ask for what we need."))

    # An authorised agent (11 CCR §7063) fills in the client's name and address and uploads the signed permission.
    as_agent = forms.BooleanField(label=_("I am an authorised agent acting for someone else"), required=False,
                                  help_text=_("We then write only to the person you act for, to confirm that they "
                                              "authorised you; answers and copies of data go to them, not to you."))
    client_name = forms.CharField(label=_("Name of the person you act for"), max_length=200, required=False)
    client_email = forms.EmailField(label=_("E-mail address of the person you act for"), max_length=254, required=False)
    permission = forms.FileField(label=_("Their signed permission"), required=False, help_text=_(
        "A PDF, PNG or JPEG of the permission they signed for you to make this request (at most 10 MB)."))

    def clean(self):
        data = super().clean()
        if data.get("kind") in (Kind.QUESTION, Kind.RECTIFICATION) and not (data.get("details") or "").strip():
            self.add_error("details", _("Tell us your question or what should be corrected."))
        if data.get("as_agent"):
            if not (data.get("client_name") or "").strip() and not self.has_error("client_name"):
                self.add_error("client_name", _("Give the name of the person you act for."))
            if not data.get("client_email") and not self.has_error("client_email"):
                self.add_error("client_email", _("Give the e-mail address of the person you act for."))
            if not data.get("permission") and not self.has_error("permission"):
                self.add_error("permission", _("Upload the permission the person you act for signed."))
        return data


class AgentAnswerForm(forms.Form):
    answer = forms.ChoiceField(choices=[("confirm", _("Yes, I authorised them")), ("refuse", _("No, I did not"))])


class AppealForm(forms.Form):
    grounds = _text(_("Why you disagree with the refusal"), required=False, rows=6, help_text=_(
        "Optional. Tell us anything the person who reviews the appeal should know."))


class ClientQuestionForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=150, required=False)
    body = _text(_("Your question"), rows=8)


# --- Staff forms in the admin ---------------------------------------------------------------------------------------


def staff_who_can_work():
    """Active staff with the permission to work on requests (through a group, directly, or as superuser)."""
    perm = Q(codename=WORK_PERMISSION.split(".")[1], content_type__app_label="rights")
    granted = Q(groups__permissions__in=_permissions(perm)) | Q(user_permissions__in=_permissions(perm))
    return (User.objects.filter(is_active=True, is_staff=True).filter(granted | Q(is_superuser=True))
            .distinct().order_by("email"))


def _permissions(query):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(query)


class RequestAddForm(forms.ModelForm):
    """A request received by e-mail, letter or phone, entered by staff. Saved by `request_record_by_staff` while
    validated, which e-mails the requester the acknowledgement."""

    received_at = forms.DateTimeField(label=_("Received at"), initial=timezone.now, widget=forms.DateTimeInput(
        attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"), help_text=_("The deadline counts from this date."))

    class Meta:
        model = DataSubjectRequest
        fields = ["kind", "channel", "client", "requester_name", "requester_email", "language", "details", "received_at"]
        widgets = {"client": AutocompleteSelect(DataSubjectRequest._meta.get_field("client"), admin.site),
                   "details": forms.Textarea(attrs={"rows": 6, "cols": 70})}
        help_texts = {"client": _("Only when you are sure who the requester is: search by name, e-mail, phone or client "
                                  "ID. Otherwise give the requester's name and e-mail address.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        staff_channels = [c for c in DataSubjectRequest.Channel.choices
                          if c[0] not in (DataSubjectRequest.Channel.PORTAL, DataSubjectRequest.Channel.PUBLIC_FORM)]
        self.fields["channel"].choices = staff_channels
        self.fields["channel"].initial = DataSubjectRequest.Channel.EMAIL

    def clean_received_at(self):
        received = self.cleaned_data["received_at"]
        if received > timezone.now():
            raise ValidationError(_("This moment is in the future."))
        return received

    def _post_clean(self):
        if self.errors:
            return
        data = {name: self.cleaned_data[name] for name in self._meta.fields}
        try:
            self.instance = request_record_by_staff(**data)
        except ValidationError as exc:
            service_error_add(self, exc)


class RequestAssignForm(forms.ModelForm):
    """The one field edited on a request's page: who works on it. Saved by `request_assign` in the admin."""

    class Meta:
        model = DataSubjectRequest
        fields = ["assignee"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = staff_who_can_work()
            self.fields["assignee"].help_text = _("A staff member who may work on requests; an open request is then "
                                                  "in progress.")

    def _post_clean(self):
        pass  # request_assign validates and saves (the admin's save_model)


class ReplyForm(forms.Form):
    body = _text(_("Answer"), rows=8, help_text=_("E-mailed to the requester and kept on the thread."))
    close = forms.BooleanField(label=_("This answers the request: close it as completed"), required=False)


class NoteForm(forms.Form):
    body = _text(_("Internal note"), rows=3, max_length=4000, help_text=_("Never sent; kept on the thread with your name."))


class ExtendForm(forms.Form):
    until = forms.DateField(label=_("New due date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reason = _text(_("Why more time is needed"), rows=4, max_length=2000,
                   help_text=_("E-mailed to the requester with the new date."))

    def __init__(self, *args, limit=None, **kwargs):
        super().__init__(*args, **kwargs)
        if limit is not None:
            self.fields["until"].help_text = _("At the latest %(limit)s, as the law of this request allows.") % {
                "limit": limit.isoformat()}


class PauseForm(forms.Form):
    note = _text(_("What you asked the requester for"), rows=3, max_length=2000, help_text=_(
        "E.g. the order number and the phone number of the account. Ask them by replying on the thread. Kept with "
        "the pause; the deadline stops until you record that the identity is verified, where the law allows."))


class ResumeForm(forms.Form):
    note = _text(_("How the identity was verified"), rows=3, max_length=2000, help_text=_(
        "Kept with the pause. The requester is e-mailed the due date."))


class CloseForm(forms.Form):
    status = forms.ChoiceField(label=_("Outcome"), widget=forms.RadioSelect,
                               choices=[(s.value, s.label) for s in Status if s in CLOSED])
    outcome = _text(_("What was done"), required=False, rows=4, max_length=4000,
                    help_text=_("Kept in the request log; sent to the requester when you tick the box below."))
    refusal_reason = _text(_("Reason for the refusal"), required=False, rows=4, max_length=4000, help_text=_(
        "Required for a refusal. E-mailed to the requester with their right to complain (GDPR Art. 12(4))."))
    notify_client = forms.BooleanField(label=_("E-mail the outcome to the requester"), required=False, initial=True,
                                       help_text=_("A refusal is always e-mailed."))

    def clean(self):
        data = super().clean()
        if data.get("status") == Status.REFUSED and not (data.get("refusal_reason") or "").strip():
            self.add_error("refusal_reason", _("Say why the request is refused; the requester is told."))
        return data


class LegalHoldForm(forms.ModelForm):
    """A new hold, saved by `legal_hold_set` while validated. The admin sets `actor`."""

    actor = None

    class Meta:
        model = LegalHold
        fields = ["client", "reason", "keep_until"]
        widgets = {"client": AutocompleteSelect(LegalHold._meta.get_field("client"), admin.site),
                   "keep_until": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}

    def _post_clean(self):
        if self.errors:
            return
        try:
            self.instance = legal_hold_set(actor=self.actor, **{name: self.cleaned_data[name] for name in self._meta.fields})
        except ValidationError as exc:
            service_error_add(self, exc)


class LegalHoldReleaseForm(forms.Form):
    release_reason = _text(_("Why the hold ends"), rows=3, max_length=2000)


class DeadlineRuleForm(forms.ModelForm):
    class Meta:
        model = ResponseDeadlineRule
        fields = ["months", "days", "extension_months", "extension_days", "law"]
        help_texts = {"extension_days": _("Together with the months above: the longest extension the law allows.")}

    def clean(self):
        data = super().clean()
        if not (data.get("months") or data.get("days")) and not self.has_error("months") and not self.has_error("days"):
            self.add_error("days", _("A deadline needs at least one month or one day."))
        return data


class AppealDecisionForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect, choices=[
        ("upheld", _("Uphold the refusal")), ("reversed", _("Reverse the refusal: act on the request"))])
    decision_reason = _text(_("Reasons"), rows=5, max_length=4000, help_text=_(
        "E-mailed to the requester. An upheld refusal's e-mail also says which authority they can complain to."))
