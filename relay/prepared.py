"""Querysets whose SQL is compiled once, for the hottest reads: on a page of 100 annotations,
building the queryset and compiling it costs the ORM more CPU than PostgreSQL takes to
answer it.

`Lazy(build, **values)` stands for the queryset `build(**values)` without building it. An
API list hands one to the filters and the pagination (relay/api/filters.py, pagination.py):
when no filter is asked for, a page of it runs a `Template`'s SQL; anything else (filters,
cursors, counts) builds the real queryset.

`Template(build)` compiles `build(**values)` once per database with a stand-in for each
value (a random UUID), and remembers where the stand-ins came out among the SQL's
parameters; each call puts its values there. Values are UUIDs, the ids of the objects in
the URL, so that a value can only ever come out as one parameter of its own. A query whose
stand-ins do not come out that way, or whose rows would need converting in Python, is
refused when it is compiled (ImproperlyConfigured), not run wrongly.
"""

import threading
import uuid
from functools import cached_property

from django.core.exceptions import ImproperlyConfigured
from django.db import connections


def cursor(using="default"):
    """A cursor for SQL written once and run on most requests: prepared on each connection
    the first time (relay.postgresql's prepared_cursor), or Django's cursor elsewhere."""
    connection = connections[using]
    prepared = getattr(connection, "prepared_cursor", None)
    return prepared() if prepared is not None else connection.cursor()


class Lazy:
    def __init__(self, build, **values):
        self.build = build
        self.values = values

    @cached_property
    def queryset(self):
        return self.build(**self.values)


def resolve(queryset):
    """The queryset itself, built if it is Lazy."""
    return queryset.queryset if isinstance(queryset, Lazy) else queryset


class Template:
    def __init__(self, build):
        self.build = build
        self._compiled = {}
        self._lock = threading.Lock()

    def rows(self, values, limit, offset=0):
        """The rows of `build(**values)[offset:offset + limit]`: tuples, in the order of
        `columns(values)` (that of `values()`)."""
        for name, value in values.items():
            if not isinstance(value, uuid.UUID):
                raise TypeError(f"{name} must be a UUID, not {type(value).__name__}")
        sql, slots, names, db = self.compiled(tuple(sorted(values)))
        params = [values[slot] if isinstance(slot, str) else slot[0] for slot in slots]
        with cursor(db) as rows:
            rows.execute(f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset])
            return rows.fetchall()

    def columns(self, values):
        return self.compiled(tuple(sorted(values)))[2]

    def compiled(self, names):
        """(sql, slots: a value's name or (constant,) per parameter, column names, database alias)."""
        try:
            return self._compiled[names]
        except KeyError:
            pass
        with self._lock:
            if names not in self._compiled:
                self._compiled[names] = self._compile(names)
        return self._compiled[names]

    def _compile(self, names):
        stand_ins = {uuid.uuid4(): name for name in names}
        queryset = self.build(**{name: stand_in for stand_in, name in stand_ins.items()})
        query = queryset.query
        if query.is_sliced or query.combinator or query.select_for_update or query.default_cols:
            raise ImproperlyConfigured("a Template's queryset is a values() query, not sliced, combined or locking")
        compiler = query.get_compiler(queryset.db)
        sql, params = compiler.as_sql()
        slots = [stand_ins[p] if isinstance(p, uuid.UUID) and p in stand_ins else (p,) for p in params]
        missing = set(names) - {slot for slot in slots if isinstance(slot, str)}
        if missing:
            raise ImproperlyConfigured(f"a Template's values {sorted(missing)} are not parameters of its SQL")
        if compiler.get_converters([column[0] for column in compiler.select]):
            raise ImproperlyConfigured("a Template's rows cannot need converting in Python")
        columns = [*query.extra_select, *query.values_select, *query.annotation_select]
        return sql, slots, columns, queryset.db
