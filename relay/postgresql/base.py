"""Django's PostgreSQL backend (settings: ENGINE "relay.postgresql"), with a cheaper check
of a pooled connection as a request takes it, and cursors for prepared statements.

With a pool (DATABASE_POOL_MAX), each request takes a connection from it and gives it back
at its end. psycopg_pool's check of a connection as it is taken (what Django's
CONN_HEALTH_CHECKS turns on) sends an empty query: a round trip to PostgreSQL per request,
about 8% of all the CPU that a small API request costs (web server and PostgreSQL). A
connection that the server has ended since (a restart, a terminated backend, an idle
timeout) says so on the connection itself -- an error message, then the end of the stream
-- while an idle connection has nothing to read. So a connection with nothing to read is
used as it is; one with something to read gets psycopg_pool's check, and if that fails it
goes back to the pool, which drops it, and the next one is taken.

`prepared_cursor()`: a cursor that sends its parameters apart from the SQL (server-side
binding) where Django's send them written into it, so that PostgreSQL prepares each
statement on a connection once (OPTIONS prepare_threshold, DATABASE_PREPARED_STATEMENTS)
and does not plan it again. For the few statements every request runs, written once
(relay/prepared.py): planning the annotation page's joins costs PostgreSQL about as much
as running them. Django's own cursors bind on the client, and are never prepared.
"""

import select

from django.db.backends.postgresql import base
from django.utils.asyncio import async_unsafe
from psycopg_pool import ConnectionPool


def quiet(connection):
    """Nothing to read on this idle connection (so the server has not ended it)."""
    if connection.closed or connection.broken:
        return False
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except (OSError, ValueError, base.Database.Error):
        return False


PREPARED = "relay.prepared"  # create_cursor's name of a prepared_cursor (not a server-side cursor's)


class DatabaseWrapper(base.DatabaseWrapper):
    @async_unsafe
    def prepared_cursor(self):
        return self._cursor(PREPARED)

    def create_cursor(self, name=None):
        if name != PREPARED:
            return super().create_cursor(name)
        cursor = base.ServerBindingCursor(self.connection)
        tzloader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, base.Format.TEXT)
        if self.timezone != tzloader.timezone:  # as Django's create_cursor
            base.register_tzloader(self.timezone, cursor)
        return cursor

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.pool is None:
            return connection
        for _ in range(self.pool.max_size):
            if quiet(connection):
                return connection
            try:
                ConnectionPool.check_connection(connection)
                return connection
            except base.Database.Error:
                self.pool.putconn(connection)  # broken: the pool drops it
            connection = super().get_new_connection(conn_params)
        return connection
