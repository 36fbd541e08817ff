"""GET /jobs/count reads counters kept with every change (relay/counts.py): they agree with
counting the rows, through creation, status changes, cancels, failures, claims, cascaded
deletes and roll-ups."""

import pytest
from django.db.models import Count

from inference.models import InferenceJob
from relay import counts, jobs, work
from relay.jobs import JobStatus
from relay.models import JobStatusCount, JobStatusDelta, Tenant
from training.models import Evaluation, Model, TrainingJob

pytestmark = pytest.mark.django_db


def truth(tenant):
    body = {}
    for kind, model in jobs.job_kinds().items():
        found = dict(model.objects.filter(tenant=tenant).values_list("status").annotate(n=Count("id")).order_by())
        body[kind] = {status: found.get(status, 0) for status in JobStatus.values}
    return body


def served(api):
    return {kind: counted["by_status"] for kind, counted in api.get("/jobs/count").json().items()}


def test_counts_follow_every_change(api, other_api):
    model = Model.objects.create(tenant=api.tenant, name="m", annotation_set_version=1, storage_key="k")
    inference = [InferenceJob.objects.create(tenant=api.tenant, model=model) for _ in range(4)]
    training = [
        TrainingJob.objects.create(tenant=api.tenant, annotation_set_version=1, status=JobStatus.QUEUED)
        for _ in range(3)
    ]
    evaluations = [
        Evaluation.objects.create(tenant=api.tenant, model=model, annotation_set_version=1, status=JobStatus.QUEUED)
        for _ in range(2)
    ]
    InferenceJob.objects.create(tenant=other_api.tenant)
    assert served(api) == truth(api.tenant)

    work.transition(InferenceJob, inference[0].pk, from_=[JobStatus.PENDING], to=JobStatus.PROCESSING)
    work.transition(InferenceJob, inference[0].pk, from_=[JobStatus.PENDING], to=JobStatus.PROCESSING)  # no-op
    work.fail(InferenceJob, inference[1].pk, "broken")
    assert api.post(f"/inference-jobs/{inference[2].pk}/cancel").status_code == 200
    assert work.claim(TrainingJob, training[0].pk, "task-1") is not None
    assert work.claim(TrainingJob, training[0].pk, "task-1") is not None  # the same task again: no change
    work.transition(TrainingJob, training[0].pk, to=JobStatus.COMPLETED, token="task-1")
    assert api.post(f"/training-jobs/{training[1].pk}/cancel").status_code == 200
    assert served(api) == truth(api.tenant)
    assert served(api)["inference"]["failed"] == 1 and served(api)["training"]["completed"] == 1

    counts.roll_up()
    assert not JobStatusDelta.objects.exists()
    assert served(api) == truth(api.tenant)

    model.delete()  # cascades to its evaluations
    TrainingJob.objects.filter(pk=training[2].pk).delete()
    assert served(api) == truth(api.tenant)
    assert served(api)["evaluation"]["queued"] == 0 and len(evaluations) == 2
    counts.roll_up()
    assert served(api) == truth(api.tenant)
    assert served(other_api) == truth(other_api.tenant)


def test_a_deleted_tenants_counts_go_at_the_roll_up(api, other_api):
    InferenceJob.objects.create(tenant=other_api.tenant)
    counts.roll_up()
    tenant_id = other_api.tenant.pk
    Tenant.objects.filter(pk=tenant_id).delete()
    counts.roll_up()
    assert not JobStatusCount.objects.filter(tenant_id=tenant_id, count__gt=0).exists()
    assert not JobStatusCount.objects.filter(tenant_id=tenant_id).exists()


def test_recount_rebuilds_counts_of_jobs_written_around_the_orm(api):
    model = Model.objects.create(tenant=api.tenant, name="m", annotation_set_version=1, storage_key="k")
    InferenceJob.objects.bulk_create([InferenceJob(tenant=api.tenant, model=model) for _ in range(5)])  # no signals
    assert served(api)["inference"]["pending"] == 0
    from django.core.management import call_command

    call_command("recount_jobs")
    assert served(api) == truth(api.tenant) and served(api)["inference"]["pending"] == 5
