"""Set-based inserts for many new rows: PostgreSQL COPY where available, bulk_create elsewhere (SQLite quick start).

Used for synthetic demo data and other mass loads; every row still satisfies the same constraints.
"""

from collections.abc import Sequence

from django.db import connection


def rows_insert(model, fields: Sequence[str], rows: list[tuple]) -> None:
    """Insert `rows` (tuples in the order of `fields`, primary key included) into `model`'s table."""
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name).column for name in fields]
    if connection.vendor == "postgresql":
        quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
        from psycopg.types.json import Jsonb

        json_columns = [i for i, name in enumerate(fields) if meta.get_field(name).get_internal_type() == "JSONField"]
        # A binary field's Python value need not be bytes (consent's hashes are hex): its own get_prep_value says.
        binary = [(i, meta.get_field(name)) for i, name in enumerate(fields)
                  if meta.get_field(name).get_internal_type() == "BinaryField"]
        # A field whose column holds another type than its Python value (e.g. sharing's bit set of data categories)
        # says so with `copy_converts`; COPY writes what its get_db_prep_value gives.
        converted = [(i, meta.get_field(name)) for i, name in enumerate(fields)
                     if getattr(meta.get_field(name), "copy_converts", False)]
        # The raw psycopg cursor does COPY; wrap_database_errors turns its errors into Django's DatabaseError.
        with connection.cursor() as cursor, connection.wrap_database_errors:
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(meta.db_table)} ({quoted}) FROM STDIN") as copy:
                for row in rows:
                    if json_columns or binary or converted:
                        row = list(row)
                        for i in json_columns:
                            row[i] = Jsonb(row[i])
                        for i, field in binary:
                            row[i] = field.get_prep_value(row[i])
                        for i, field in converted:
                            row[i] = field.get_db_prep_value(row[i], connection)
                    copy.write_row(row)
        return
    attnames = [meta.get_field(name).attname for name in fields]
    model.objects.bulk_create([model(**dict(zip(attnames, row, strict=True))) for row in rows], batch_size=2000)


def ids_reserve(model, count: int) -> list[int]:
    """`count` fresh primary keys from the table's sequence (PostgreSQL), or after the current maximum (SQLite)."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, count])
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {connection.ops.quote_name(table)}")  # nosec B608  # our model's table
        start = cursor.fetchone()[0] + 1
        return list(range(start, start + count))
