from annotations.models import Annotation
from datasets.models import AudioFile
from relay.selectors import get_one
from training.models import Evaluation, Model, TrainingJob


def jobs_for(*, tenant):
    return TrainingJob.objects.filter(tenant=tenant)


def get_job(*, tenant, job_id):
    return get_one(jobs_for(tenant=tenant), "Training job", pk=job_id)


def models_for(*, tenant):
    return Model.objects.filter(tenant=tenant)


def get_model(*, tenant, model_id):
    return get_one(models_for(tenant=tenant), "Model", pk=model_id)


def training_files(annotation_set):
    """The audio files a set annotates: the training corpus."""
    return AudioFile.objects.filter(
        pk__in=Annotation.objects.filter(annotation_set=annotation_set).values("audio_file_id")
    )


def training_events(annotation_set, type_names):
    """{audio_file_id: [(type_index, start_ms, end_ms)]} of the set's annotations of these types."""
    index = {name: i for i, name in enumerate(type_names)}
    events = {}
    for audio_id, type_name, start, end in Annotation.objects.filter(
        annotation_set=annotation_set, artifact_type__name__in=type_names
    ).values_list("audio_file_id", "artifact_type__name", "start_ms", "end_ms"):
        events.setdefault(audio_id, []).append((index[type_name], start, end))
    return events


def evaluations_of(*, model):
    return Evaluation.objects.filter(model=model)


def get_evaluation(*, model, evaluation_id):
    return get_one(evaluations_of(model=model), "Evaluation", pk=evaluation_id)


def evaluation_files(evaluation):
    """The evaluated audio files, in the order the evaluation lists them."""
    by_id = {str(a.pk): a for a in AudioFile.objects.filter(pk__in=evaluation.audio_file_ids)}
    return [by_id[i] for i in evaluation.audio_file_ids if i in by_id]
