from relay import work
from training import runner
from training.models import TrainingJob


@work.work_task(TrainingJob)
def run_training_job(job, run):
    """Train a model for a queued training job (idempotent: a finished job is left alone)."""
    runner.run(job, run)
