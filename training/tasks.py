from relay import work
from training import runner
from training.models import Evaluation, TrainingJob


@work.work_task(TrainingJob)
def run_training_job(job, run):
    """Train a model for a queued training job (idempotent: a finished job is left alone)."""
    runner.run(job, run)


@work.work_task(Evaluation)
def run_evaluation(evaluation, run):
    """Score a model on annotated files (idempotent: a finished evaluation is left alone)."""
    runner.evaluate(evaluation, run)
