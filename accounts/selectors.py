"""Reads of a client's own personal data; each takes the requester so the scope is never optional."""

from django.utils import timezone

from .models import Client, EmailChangeRequest, User


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


def email_change_waiting(*, client: Client) -> EmailChangeRequest | None:
    """The client's change of e-mail address still waiting for its link to be confirmed, if any."""
    return (EmailChangeRequest.objects.filter(client=client, status=EmailChangeRequest.Status.PENDING,
                                              expires_at__gt=timezone.now()).first())
