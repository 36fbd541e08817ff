import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(
    name="inference.process_file",
    soft_time_limit=settings.RELAY_INFERENCE_TIME_LIMIT_S,
    time_limit=settings.RELAY_INFERENCE_TIME_LIMIT_S + 60,
)
def process_inference_file(file_id):
    """Run the job's model over one file (idempotent: a file not queued is left alone)."""
    from inference import runner
    from inference.models import FileStatus

    try:
        runner.process(file_id)
    except SoftTimeLimitExceeded:
        runner.fail_file(file_id, f"the time limit of {settings.RELAY_INFERENCE_TIME_LIMIT_S} s was reached")
    except Exception as error:
        logger.exception("inference file %s failed", file_id)
        runner.fail_file(
            file_id,
            f"internal error while processing ({type(error).__name__}: {error})"[:500],
            from_statuses=[FileStatus.QUEUED, FileStatus.PROCESSING],
        )


@shared_task(name="inference.expire_uploads")
def expire_uploads():
    from inference import services

    return services.expire_uploads()


@shared_task(name="inference.requeue_stuck")
def requeue_stuck():
    from inference import services

    return services.requeue_stuck()
