from inference import runner
from inference.models import InferenceFile
from relay import work


@work.work_task(InferenceFile)
def process_inference_file(inference_file, run):
    """Run the job's model over one file (idempotent: a file not queued is left alone)."""
    runner.process(inference_file, run)
