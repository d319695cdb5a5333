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
