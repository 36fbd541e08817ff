"""Rows rendered as JSON by PostgreSQL, for the large list pages.

Loading a page of rows into Python (parsing every timestamp, UUID and JSON column, then
building dicts) costs several times more than the query. `JSONRow` has the database write
each row as compact JSON text instead; the API embeds that text unparsed
(relay/api/renderers.py takes `orjson.Fragment`). Each endpoint that uses it has a test
that its items equal the serializer's output for the same objects.
"""

from django.db.models import F, Func, TextField


class UTCTimestamp(Func):
    """A timestamp as the API writes it: ISO 8601 in UTC ending in `Z`, with microseconds
    only when there are any (as Python's isoformat)."""

    output_field = TextField()
    template = (
        "CASE WHEN date_trunc('second', %(expressions)s) = %(expressions)s "
        """THEN to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        """ELSE to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    )

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return self.template % {"expressions": sql}, params * 4


class JSONRow(Func):
    """`JSONRow(id="id", artifact_type="artifact_type__name", created_at=UTCTimestamp("created_at"))`:
    one JSON object per row, keys in the order given (text; null columns are null)."""

    output_field = TextField()

    def __init__(self, **fields):
        self.keys = list(fields)
        expressions = [F(value) if isinstance(value, str) else value for value in fields.values()]
        super().__init__(*expressions, output_field=TextField())

    def as_sql(self, compiler, connection, **extra):
        columns, params = [], []
        for key, expression in zip(self.keys, self.source_expressions, strict=True):
            sql, column_params = compiler.compile(expression)
            columns.append(f"{sql} AS {connection.ops.quote_name(key)}")
            params.extend(column_params)
        return f"(SELECT row_to_json(_row)::text FROM (SELECT {', '.join(columns)}) AS _row)", params
