"""How many jobs of each kind and status a tenant has, cheap at any number of jobs.

Each change writes delta rows (+1 to the new status, -1 to the old) in its own
transaction: inserts, so concurrent changes never wait on a shared counter row. Beat rolls
the deltas up into one row per (tenant, kind, status) every minute, in one
statement; a read adds the roll-up and the deltas since, so it costs a few rows whatever
the number of jobs. Jobs created or deleted through the ORM are counted by signals, status
changes by relay.work (the only place that moves a counted kind's status).
"""

from django.db import connection, transaction
from django.db.models.signals import post_delete, post_save

from relay.models import JobStatusDelta

_ROLL_UP = """
WITH moved AS (
    DELETE FROM relay_jobstatusdelta RETURNING tenant_id, kind, status, delta
)
INSERT INTO relay_jobstatuscount (tenant_id, kind, status, count)
SELECT tenant_id, kind, status, SUM(delta) FROM moved GROUP BY tenant_id, kind, status
ON CONFLICT (tenant_id, kind, status) DO UPDATE SET count = relay_jobstatuscount.count + EXCLUDED.count
"""
_FORGET_DELETED_TENANTS = """
DELETE FROM relay_jobstatuscount c WHERE NOT EXISTS (SELECT 1 FROM relay_tenant t WHERE t.id = c.tenant_id)
"""
_READ = """
SELECT kind, status, SUM(n) FROM (
    SELECT kind, status, count AS n FROM relay_jobstatuscount WHERE tenant_id = %s
    UNION ALL
    SELECT kind, status, delta FROM relay_jobstatusdelta WHERE tenant_id = %s
) AS both_ GROUP BY kind, status
"""


def changed(kind, tenant_id, changes):
    """Write deltas: `changes` is [(status, +1 or -1), ...]."""
    rows = [JobStatusDelta(tenant_id=tenant_id, kind=kind, status=s, delta=d) for s, d in changes if d]
    if rows:
        JobStatusDelta.objects.bulk_create(rows)


def moved(kind, tenant_id, before, after, n=1):
    if before != after:
        changed(kind, tenant_id, [(before, -n), (after, n)])


def of_tenant(tenant_id) -> dict[str, dict[str, int]]:
    """{kind: {status: count}} (statuses with no job may be missing)."""
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(_READ, [tenant_id, tenant_id])
        for kind, status, n in cursor.fetchall():
            found.setdefault(kind, {})[status] = int(n)
    return found


def totals() -> list[tuple[str, str, int]]:
    """(kind, status, count) over every tenant."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, status, SUM(n) FROM (SELECT kind, status, count AS n FROM relay_jobstatuscount "
            "UNION ALL SELECT kind, status, delta FROM relay_jobstatusdelta) AS both_ GROUP BY kind, status "
            "ORDER BY kind, status"
        )
        return [(kind, status, int(n)) for kind, status, n in cursor.fetchall()]


def roll_up():
    """Beat: fold the deltas into the per-status counts (one statement, so a read sees the
    deltas or their sum, never both or neither)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_ROLL_UP)
        folded = cursor.rowcount
        cursor.execute(_FORGET_DELETED_TENANTS)
    return folded


def count_with_signals(model):
    """Count `model`'s jobs created and deleted through the ORM."""
    kind = model.lifecycle.kind

    def on_save(sender, instance, created, raw=False, **kwargs):
        if created and not raw:
            changed(kind, instance.tenant_id, [(instance.status, 1)])

    def on_delete(sender, instance, **kwargs):
        changed(kind, instance.tenant_id, [(instance.status, -1)])

    post_save.connect(on_save, sender=model, weak=False, dispatch_uid=f"count-{kind}-save")
    post_delete.connect(on_delete, sender=model, weak=False, dispatch_uid=f"count-{kind}-delete")


def recount(models):
    """Count every job of `models` again (jobs written around the ORM, e.g. by a bulk load);
    changes wait meanwhile, so none is lost or counted twice. `manage.py recount_jobs`."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE relay_jobstatusdelta IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM relay_jobstatusdelta")
        cursor.execute("DELETE FROM relay_jobstatuscount")
        for model in models:
            cursor.execute(
                f"INSERT INTO relay_jobstatuscount (tenant_id, kind, status, count) "
                f"SELECT tenant_id, %s, status, COUNT(*) FROM {model._meta.db_table} GROUP BY tenant_id, status",
                [model.lifecycle.kind],
            )
