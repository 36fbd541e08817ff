from django.db.models import Prefetch

from inference.models import Detection, InferenceFile, InferenceJob
from relay.selectors import get_one


def jobs_for(*, tenant):
    return InferenceJob.objects.filter(tenant=tenant)


def get_job(*, tenant, job_id):
    return get_one(jobs_for(tenant=tenant), "Inference job", pk=job_id)


def with_detections(files):
    return files.prefetch_related(Prefetch("detections", queryset=Detection.objects.order_by("start_ms", "id")))


def files_of(*, job):
    return with_detections(InferenceFile.objects.filter(job=job))


def get_file(*, job, file_id):
    return get_one(files_of(job=job), "Inference file", pk=file_id)
