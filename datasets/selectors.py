from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from datasets.models import ArtifactType, AudioFile, Dataset
from relay.selectors import get_one


def datasets_for(*, tenant):
    """The tenant's datasets with `audio_count` and `total_duration_ms`, one query each page."""
    audio = AudioFile.objects.filter(dataset=OuterRef("pk")).order_by().values("dataset")
    return (
        Dataset.objects.filter(tenant=tenant)
        .annotate(
            audio_count=Coalesce(
                Subquery(audio.annotate(n=Count("pk")).values("n"), output_field=IntegerField()), Value(0)
            ),
            total_duration_ms=Coalesce(Subquery(audio.annotate(total=Sum("duration_ms")).values("total")), Value(0)),
        )
        .prefetch_related(Prefetch("artifact_types", queryset=ArtifactType.objects.order_by("created_at", "name")))
    )


def get_dataset(*, tenant, dataset_id, with_counts=True):
    """The tenant's dataset (with the counts the API shows, unless `with_counts` is False)."""
    queryset = datasets_for(tenant=tenant) if with_counts else Dataset.objects.filter(tenant=tenant)
    return get_one(queryset, "Dataset", pk=dataset_id)


def audio_of(*, dataset):
    return AudioFile.objects.filter(dataset=dataset)


def get_audio(*, dataset, audio_id):
    return get_one(audio_of(dataset=dataset), "Audio file", pk=audio_id)


def audio_of_dataset_by_id(*, dataset, audio_ids):
    """{id: AudioFile} of this dataset's files among `audio_ids` (others are left out)."""
    return {audio.pk: audio for audio in audio_of(dataset=dataset).filter(pk__in=audio_ids)}


def audio_by_id(*, tenant, audio_file_ids):
    """The tenant's audio files with these ids: {id: AudioFile} (any status; the caller checks)."""
    return {a.pk: a for a in AudioFile.objects.filter(pk__in=audio_file_ids, dataset__tenant=tenant)}
