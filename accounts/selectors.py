"""Reads of a client's own personal data; each takes the requester so the scope is never optional."""

from .models import Client, User


def client_for_user(*, user: User) -> Client | None:
    """The client record behind a portal login, with what the dashboard shows, in two queries."""
    if not user.is_authenticated:
        return None
    return (
        Client.objects.filter(user=user)
        .prefetch_related("addresses", "ip_observations")
        .first()
    )


def client_of_user(*, user: User) -> Client | None:
    """The client record behind a portal login, alone (one query; none for anonymous visitors)."""
    return Client.objects.filter(user=user).first() if user.is_authenticated else None
