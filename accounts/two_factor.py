"""The staff's second factor (django-otp TOTP): one confirmed device per staff login, and how to add it to an app.

Used by `manage.py staff_totp_enrol` and `seed_demo`; the admin (an OTPAdminSite, fulfillmen/urls.py) checks it.
"""

from base64 import b32encode
from urllib.parse import quote, urlencode

from django import forms
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm
from django_otp.plugins.otp_totp.models import TOTPDevice

DEVICE_NAME = "Authenticator app"
ISSUER = "Fulfillmen Privacy Portal"


class AlreadyEnrolled(Exception):
    """The login has a TOTP device already; replacing it must be asked for (`reset=True`)."""


def staff_totp_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()


@transaction.atomic
def staff_totp_enrol(*, user, reset: bool = False) -> TOTPDevice:
    """A new confirmed TOTP device for a staff login; with `reset`, its old devices (and their codes) stop working."""
    if not user.is_staff:
        raise ValueError(f"{user.get_username()} is not staff: only staff logins have a second factor")
    devices = TOTPDevice.objects.select_for_update().filter(user=user)
    if devices.exists() and not reset:
        raise AlreadyEnrolled(user.get_username())
    devices.delete()
    return TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)


def staff_totp_device_ensure(user) -> TOTPDevice:
    """The staff login's device, created if it has none (demo data, tests); an existing one is kept."""
    return staff_totp_device(user) or staff_totp_enrol(user=user)


def totp_secret(device: TOTPDevice) -> str:
    """The base32 secret, as an authenticator app takes it when typed in."""
    return b32encode(device.bin_key).decode()


def totp_uri(device: TOTPDevice) -> str:
    """The otpauth:// URI (Key Uri Format) that authenticator apps import, issuer included."""
    issuer = (getattr(settings, "OTP_TOTP_ISSUER", None) or ISSUER).replace(":", "")
    label = quote(f"{issuer}:{device.user.get_username()}")
    params = urlencode({"secret": totp_secret(device), "algorithm": "SHA1", "digits": device.digits, "period": device.step})
    return f"otpauth://totp/{label}?{params}&issuer={quote(issuer)}"


# One answer for every refused admin log-in (issue #16.6): "invalid code" after a right password would confirm it.
REFUSED = _("Please enter a correct email address, password and 6-digit code for a staff account. "
            "If the code keeps failing, check the time on your phone.")


class StaffLoginForm(OTPAdminAuthenticationForm):
    """Password and code on one form: a staff login has one TOTP device (staff_totp_enrol), so none is chosen.
    A login without a device is refused like a wrong code (enrol it with `manage.py staff_totp_enrol`).

    Whatever is wrong — the password, the code, both, a missing code, a throttled device, no device, not staff — the
    page comes back the same, with REFUSED: no device list, no password echoed back, no word about which factor
    failed. A refusal after a right password is reported to django-axes as a failed log-in, so wrong codes count
    towards the lock-out of that (e-mail, address) pair like wrong passwords."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["otp_token"].label = _("6-digit code from your authenticator app")
        self.error_messages = {**self.error_messages, "invalid_login": REFUSED}

    def clean_otp(self, user):
        device = staff_totp_device(user) if user is not None else None
        if user is not None and device is None:
            raise forms.ValidationError(REFUSED, code="no_device")
        if device is not None and not self.cleaned_data.get("otp_device"):
            self.cleaned_data["otp_device"] = device.persistent_id
        super().clean_otp(user)

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError as refused:
            if self.user_cache is not None:  # the password was right: the second factor (or staff status) was not
                user_login_failed.send(sender=__name__, request=self.request,
                                       credentials={"username": self.cleaned_data.get("username")})
                self.user_cache = None
            raise forms.ValidationError(REFUSED, code="invalid_login") from refused

    def _update_form(self, user):
        """django-otp would list the user's devices and echo the password back once the password is right."""
