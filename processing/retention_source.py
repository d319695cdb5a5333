"""Where the record of processing reads retention periods from: the texts declared per category in
rights/inventory.py — the same the client's "Your data" page and export show — which are themselves rendered from
the retention rules that `enforce_retention` applies (rights/retention/rules.py), so the record, the client's page
and the job cannot disagree."""

from dataclasses import dataclass

from consent.models import LegalBasis


@dataclass(frozen=True)
class RetentionRow:
    code: str
    title: str
    purpose: str
    legal_basis: str
    retention: str


def retention_by_category() -> list[RetentionRow]:
    """Each category of client data with its retention period, in the active language."""
    from rights.inventory import CATEGORIES

    return [RetentionRow(code=c.code, title=str(c.title), purpose=str(c.purpose),
                         legal_basis=str(LegalBasis(c.legal_basis).label), retention=str(c.retention))
            for c in CATEGORIES]
