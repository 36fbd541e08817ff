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


def detections_on_dataset(*, tenant, dataset, source_id, min_confidence):
    """An inference job's detections on the dataset's audio, as raw annotation items (the
    reader of `annotations.services.suggestion_sources["inference_job"]`)."""
    job = get_job(tenant=tenant, job_id=source_id)
    rows = Detection.objects.filter(
        file__job=job, file__audio_file__dataset=dataset, confidence__gte=min_confidence
    ).values_list("file__audio_file_id", "artifact_type", "start_ms", "end_ms", "confidence")
    types = {t.name.lower() for t in dataset.artifact_types.all()}
    return [
        {
            "audio_file_id": str(audio_id),
            "artifact_type": name,
            "start_ms": start,
            "end_ms": end,
            "confidence": round(confidence, 4),
            "extra_data": {"source": "inference", "inference_job_id": str(job.pk)},
        }
        for audio_id, name, start, end, confidence in rows.order_by("file__audio_file_id", "start_ms", "id")
        if name.lower() in types
    ]
