"""Which privacy law governs a client, from where the client lives.

The rules that depend on it (consent defaults, request deadlines) are data kept by the apps
above; this module only names the jurisdiction.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

# EU member states plus the EEA states (Iceland, Liechtenstein, Norway): GDPR applies.
EEA_COUNTRIES = frozenset(
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE IS LI NO".split()
)


class Jurisdiction(models.TextChoices):
    EEA = "eea", _("EU / EEA (GDPR)")
    UK = "uk", _("United Kingdom (UK GDPR)")
    CN = "cn", _("China (PIPL)")
    US_CA = "us-ca", _("California (CCPA/CPRA)")
    OTHER = "other", _("Other")


def jurisdiction_for(*, country: str, region: str = "") -> str:
    """The jurisdiction of a client living in `country` (ISO 3166-1) and `region` (ISO 3166-2)."""
    country = (country or "").upper()
    if country in EEA_COUNTRIES:
        return Jurisdiction.EEA
    if country == "GB":
        return Jurisdiction.UK
    if country == "CN":
        return Jurisdiction.CN
    if country == "US" and (region or "").upper() == "US-CA":
        return Jurisdiction.US_CA
    return Jurisdiction.OTHER


def storage_country() -> str:
    """Where the personal data is stored: an ISO 3166-1 alpha-2 code (settings.DATA_STORAGE_COUNTRY, default CN)."""
    from django.conf import settings

    return settings.DATA_STORAGE_COUNTRY


def is_abroad(country: str) -> bool:
    """Whether data sent to a recipient in `country` leaves the country where it is stored (PIPL Art. 38; GDPR
    Art. 44). Codes are compared, never names: Hong Kong (HK), Macao (MO) and Taiwan (TW) are outside mainland
    China (CN) for PIPL, and an unknown or empty country counts as abroad."""
    return (country or "").strip().upper() != storage_country()


def country_label(code: str) -> str:
    """A country's name in the active language; mainland China is named so, to set it apart from HK, MO and TW."""
    from django_countries import countries

    code = (code or "").strip().upper()
    if code == "CN":
        return str(_("Mainland China"))
    return str(countries.name(code)) or code


def storage_location_label() -> str:
    """Where the data is stored, for clients: the country's name and its code, e.g. "Mainland China (CN)"."""
    return f"{country_label(storage_country())} ({storage_country()})"
