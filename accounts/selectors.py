"""Reads of a client's own personal data; each takes the requester so the scope is never optional."""

from django.utils import timezone

from .models import Address, Client, EmailChangeRequest, IPObservation, User
from .page_fragments import VersionPart, rows_digest_sql


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
    """The client record behind a portal login, alone: read with the user by the login backend
    (accounts/backends.py) when it was, else in one query; none for anonymous visitors."""
    if not user.is_authenticated:
        return None
    link = User.client.related
    if link.is_cached(user):
        return link.get_cached_value(user)
    return Client.objects.filter(user=user).first()


def email_change_waiting(*, client: Client) -> EmailChangeRequest | None:
    """The client's change of e-mail address still waiting for its link to be confirmed, if any."""
    return (EmailChangeRequest.objects.filter(client=client, status=EmailChangeRequest.Status.PENDING,
                                              expires_at__gt=timezone.now()).first())


def client_data_version_sql(client_id: int) -> list[VersionPart]:
    """For a kept portal page (accounts/page_fragments.py): the client's own record, addresses and IP addresses,
    every column of each, so that any change to what the dashboard shows of them renders it again."""
    return [rows_digest_sql(Client._meta.db_table, "t.id = %s", (client_id,)),
            rows_digest_sql(Address._meta.db_table, "t.client_id = %s", (client_id,)),
            rows_digest_sql(IPObservation._meta.db_table, "t.client_id = %s", (client_id,))]
