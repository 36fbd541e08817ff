import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

logger = logging.getLogger(__name__)


@shared_task(
    name="training.run_training_job",
    soft_time_limit=settings.RELAY_TRAINING_TIME_LIMIT_S,
    time_limit=settings.RELAY_TRAINING_TIME_LIMIT_S + 120,
)
def run_training_job(job_id):
    """Train a model for a queued training job (idempotent: a job not queued is left alone)."""
    from training import runner

    try:
        runner.run(job_id)
    except SoftTimeLimitExceeded:
        runner.fail(job_id, f"the time limit of {settings.RELAY_TRAINING_TIME_LIMIT_S} s was reached")
    except Exception as error:
        logger.exception("training job %s failed", job_id)
        runner.fail(job_id, f"internal error while training ({type(error).__name__}: {error})"[:500])


@shared_task(name="training.requeue_stuck_jobs")
def requeue_stuck_jobs():
    from relay.reaper import requeue_stuck
    from training.models import TrainingJob

    return requeue_stuck(TrainingJob, run_training_job)
