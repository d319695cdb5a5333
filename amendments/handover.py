"""Policy notices marked sent are handed to notify's sent-message hook in the same transaction: sharing (a higher
floor) records that each client's e-mail address or phone number went to the processor delivering it (issue #18)."""

from datetime import datetime

from notify.hooks import SentMessage, address_fields, messages_sent


def deliveries_sent_hand_over(rows, *, kind: str, at: datetime) -> None:
    """`rows`: (client id, channel) of each delivery just marked sent. The notice's words are the same for every
    client and name nobody, so the processor received the address only."""
    # In client and channel order, whatever order the rows came in (UPDATE … RETURNING has none): two clients with
    # the same life get their records in the same order, so no list of theirs differs in anything but them.
    messages_sent([SentMessage(client_id=client_id, channel=channel, kind=f"policy-{kind}",
                               fields=address_fields(channel), sent_at=at) for client_id, channel in sorted(rows)])
