"""Prepared statements for the few raw SQL statements every consent write runs (issue #20).

Django's psycopg backend binds parameters on the client: every statement reaches PostgreSQL as new text, which it
parses and plans again. For the ledger's write — one statement that locks the chain and the state, one that writes
the event, its personal values, the state and the chain head — planning cost PostgreSQL more than running them
(EXPLAIN: 0.17 ms planning against 0.05 ms execution for the lock). `prepared_cursor()` binds on the server and
prepares each statement text once per connection (psycopg keeps them, at most `prepared_max` = 100 per connection):
PostgreSQL's CPU per consent write fell from 1.17 to 0.48 ms.

It is a cursor of Django's own (`CursorWrapper`), so `execute_wrapper`s, `assertNumQueries` and the debug query log
still see every statement. Bound on the server, a parameter is typed by its Python value: a `None` or a `str` whose
type PostgreSQL cannot infer from where it stands needs a cast in the SQL (`%(since)s::timestamptz`), and a
statement moved here must keep tests that check its results. Only constant statement texts belong here: a text that
varies per call would fill the connection's cache for nothing. Behind PgBouncer in transaction mode, prepared
statements need PgBouncer 1.21 or later with `max_prepared_statements` set (docs/configuration.md). Other databases
get Django's plain cursor.
"""

import functools

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.utils import CursorWrapper


@functools.cache
def _classes():
    from django.db.backends.postgresql.base import CursorDebugWrapper, ServerBindingCursor

    class PreparingCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=True, binary=binary)

    class PreparedDebugWrapper(CursorDebugWrapper):
        """The query log (DEBUG, assertNumQueries) shows the statement's text: psycopg keeps no interpolated query
        for a statement bound on the server."""

        def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
            return super().debug_sql(sql, params, use_last_executed_query=False, many=many)

    return PreparingCursor, PreparedDebugWrapper


def prepared_cursor(alias: str = DEFAULT_DB_ALIAS) -> CursorWrapper:
    """A cursor whose statements are bound on the server and prepared (PostgreSQL); Django's cursor elsewhere."""
    connection = connections[alias]  # the wrapper itself, not the `django.db.connection` proxy (a lookup per attribute)
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        if raw.prepare_threshold is None:  # Django's default turns preparing off; on for what asks (`prepare=True`) only
            raw.prepare_threshold = _ONLY_WHEN_ASKED
        preparing_cursor, debug_wrapper = _classes()
        cursor = preparing_cursor(raw)
        # As Django's create_cursor: the cursor reads timestamps in the connection's time zone.
        tzloader = connection.connection.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)
        if connection.timezone != tzloader.timezone:
            register_tzloader(connection.timezone, cursor)
    connection.validate_thread_sharing()
    return debug_wrapper(cursor, connection) if connection.queries_logged else CursorWrapper(cursor, connection)


_TIMESTAMPTZ_OID = 1184
_ONLY_WHEN_ASKED = 2**31  # Django's client-binding cursors never prepare; a server-binding one only on prepare=True
