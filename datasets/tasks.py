from datasets import runner
from datasets.models import AudioFile
from relay import work


@work.work_task(AudioFile)
def process_audio(audio, run):
    """Decode an uploaded file, store its canonical copy and features (idempotent)."""
    runner.process(audio, run)


# Small files (see datasets.services.queue_processing) go several to a task.
process_audio_batch = work.batch_task(AudioFile, prepare=runner.prepare, commit_many=runner.commit_many)
