from django.conf import settings
from django.core import checks


@checks.register()
def sms_url_is_usable(app_configs, **kwargs):
    from .sms import sms_backend_from_url

    try:
        sms_backend_from_url(settings.SMS_URL)
    except ValueError as exc:
        return [checks.Error(str(exc), id="notify.E001")]
    return []
