from django.contrib import admin
from django.urls import include, path
from django_otp.admin import OTPAdminSite

from accounts.two_factor import StaffLoginForm
from sharing.api_urls import internal_v1, v1
from webhooks.api_urls import v1 as webhooks_v1

from . import health, views
from .cookies import cookies_page

# Staff need a second factor (TOTP, django-otp): the admin's log-in asks for the token, and the admin and every view
# wrapped in admin.site.admin_view (oversight, disclosures, rights, amendments, consent) refuse a session without a
# verified device. Enrol with `manage.py staff_totp_enrol <email>`.
admin.site.__class__ = OTPAdminSite


admin.site.login_form = StaffLoginForm

portal_patterns = ([path("", views.dashboard, name="dashboard")], "portal")

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("accounts/", include("accounts.urls")),
    path("", include("consent.urls")),  # /portal/choices/… and the public /do-not-sell-or-share/
    path("portal/received/", include("sharing.urls")),
    path("portal/transfers/", include("transfers.urls")),
    path("", include("rights.urls")),  # /portal/data/… and the public /requests/ form
    path("portal/", include(portal_patterns)),
    path("policy/", include("amendments.urls")),
    path("cookies/", cookies_page, name="cookies"),
    path("transparency/log/", include("transparency_log.urls")),
    path("transparency/", include("disclosures.urls")),
    path("api/v1/", include((v1 + webhooks_v1, "api"))),
    path("api/internal/v1/", include((internal_v1, "wms"))),
    path("api/", include("sharing.api_urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/oversight/", include("oversight.urls")),
    path("admin/records-of-processing/", include("processing.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Fulfillmen Privacy Portal — staff"
admin.site.site_title = "Fulfillmen Privacy"
admin.site.index_title = "Privacy administration"

