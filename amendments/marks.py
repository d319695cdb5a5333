"""Sent marks: which claimed notice deliveries the provider already accepted, kept in Redis until the chunk's outcomes
are written to the database (see amendments/notices.py for how this keeps every notice sent at most once)."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .handover import deliveries_sent_hand_over
from .models import NoticeDelivery

Status = NoticeDelivery.Status


class SentMarks:
    """Which claimed rows the provider already accepted, kept outside the database (Redis) until the chunk's
    outcomes are written; without Redis, each row is marked sent in the database straight away."""

    def __init__(self):
        from redis import Redis

        self.redis = Redis.from_url(settings.REDIS_URL) if settings.REDIS_URL else None

    @staticmethod
    def key(version_id: int) -> str:
        return f"fpp:notices:sent:{version_id}"

    def add(self, version_id: int, delivery_id: int) -> None:
        """One mark, confirmed before this returns."""
        with self.writer(version_id) as marks:
            marks.add(delivery_id)

    def writer(self, version_id: int) -> "MarkWriter":
        return MarkWriter(self, version_id)

    def members(self, version_id: int) -> set[int]:
        if self.redis is None:
            return set()
        return {int(m) for m in self.redis.smembers(self.key(version_id))}

    def forget(self, version_id: int, ids) -> None:
        if self.redis is not None and ids:
            self.redis.srem(self.key(version_id), *ids)


class MarkWriter:
    """The marks of one chunk, streamed: each SADD is written to Redis's socket as soon as its message is handed
    over, before the next hand-over, without waiting for an answer (the connection has CLIENT REPLY OFF). A
    worker killed at any point has therefore sent every mark but the one of the message in flight: the bytes are
    in Redis or in the kernel's socket buffer, which a dead process does not take with it. Leaving the block
    confirms them all with one SMISMEMBER; a mark Redis refused (out of memory) fails the chunk, which then
    stays claimed for the sweeper, as a dead worker's would. Without Redis, each row is marked sent in the
    database at once. Use as a context manager; a chunk ends with `confirm()` (on leaving the block)."""

    def __init__(self, marks: SentMarks, version_id: int):
        self.redis, self.version_id = marks.redis, version_id
        self.key = marks.key(version_id).encode()
        self.connection = None
        self.ids: list[int] = []

    def __enter__(self) -> "MarkWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.confirm()
        else:
            self._release(broken=True)

    def add(self, delivery_id: int) -> None:
        if self.redis is None:
            now = timezone.now()
            with transaction.atomic():  # the sent mark and the processor's sharing record together
                if NoticeDelivery.objects.filter(pk=delivery_id).exclude(status=Status.SENT).update(status=Status.SENT,
                                                                                                    sent_at=now):
                    client_id, channel, kind = NoticeDelivery.objects.values_list("client_id", "channel", "kind").get(
                        pk=delivery_id)
                    deliveries_sent_hand_over([(client_id, channel)], kind=kind, at=now)
            return
        if self.connection is None:
            self.connection = self.redis.connection_pool.get_connection()
            self.connection.send_command("CLIENT", "REPLY", "OFF")
            self.prefix = b"*3\r\n$4\r\nSADD\r\n$%d\r\n%b\r\n" % (len(self.key), self.key)
        digits = b"%d" % delivery_id
        self.connection.send_packed_command([self.prefix + b"$%d\r\n%b\r\n" % (len(digits), digits)], check_health=False)
        self.ids.append(delivery_id)

    def confirm(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.send_packed_command(self.connection.pack_commands(
                [("CLIENT", "REPLY", "ON"), ("SMISMEMBER", self.key, *self.ids)]))  # one round trip
            self.connection.read_response()
            missing = [pk for pk, present in zip(self.ids, self.connection.read_response(), strict=True) if not present]
        except BaseException:
            self._release(broken=True)
            raise
        self._release(broken=False)
        if missing:
            raise RuntimeError(f"Redis did not keep the sent marks of deliveries {missing[:10]}; the chunk stays claimed.")

    def _release(self, *, broken: bool) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            if broken:  # never hand a connection with replies off, or with unread answers, back to the pool
                connection.disconnect()
            self.redis.connection_pool.release(connection)
