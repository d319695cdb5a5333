"""Corrections staff make on a client's admin page — full name, phone, addresses — announced to the apps above.

accounts knows nothing of rectifications or recipients: it sends `client_corrected` in the admin's transaction with
what changed, and rights (rights/rectification.py) records each change as a Rectification, tells every affiliate
that received the field (GDPR Art. 19) and tells the client, exactly as for a correction made in the portal. The
values travel only inside the process, to be digested; they are never stored in clear.
"""

from django.dispatch import Signal

from .models import Address, Client

# sender=Client; client, changes=[(field, old, new)], actor (the staff user), channel ("email", "letter", "phone").
client_corrected = Signal()

ADDRESS = "address"  # the field name of any change to one of the client's addresses (as rights records it)
ADDRESS_FIELDS = ("kind", "line1", "line2", "city", "region", "postcode", "country")
IDENTITY_FIELDS = ("full_name", "phone")


def address_value(address: Address | None) -> dict | str:
    if address is None:
        return ""
    return {name: str(getattr(address, name)) for name in ADDRESS_FIELDS}


def identity_corrections(*, before: dict, after: Client) -> list[tuple[str, object, object]]:
    """The identity fields whose value changed (`before`: field → value read before the save)."""
    return [(field, before[field], getattr(after, field)) for field in IDENTITY_FIELDS
            if field in before and getattr(after, field) != before[field]]


def address_corrections(formset) -> list[tuple[str, object, object]]:
    """What a valid address formset is about to add, change or delete (call before `formset.save()`)."""
    changes = []
    deleted = set(id(form) for form in formset.deleted_forms)
    for form in formset.initial_forms:
        if id(form) not in deleted and not form.has_changed():
            continue
        old = address_value(Address.objects.filter(pk=form.instance.pk).first())
        new = "" if id(form) in deleted else address_value(form.instance)
        if old != new:
            changes.append((ADDRESS, old, new))
    for form in formset.extra_forms:
        if form.has_changed() and id(form) not in deleted:
            changes.append((ADDRESS, "", address_value(form.instance)))
    return changes
