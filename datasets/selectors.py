from django.db.models import Count, IntegerField, OuterRef, Prefetch, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from datasets.models import ArtifactType, AudioFile, Dataset


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


def get_dataset(*, tenant, dataset_id, queryset=None):
    queryset = queryset if queryset is not None else datasets_for(tenant=tenant)
    try:
        return queryset.get(tenant=tenant, pk=dataset_id)
    except (Dataset.DoesNotExist, ValueError):
        raise Http404("Dataset not found") from None


def plain_datasets():
    """Datasets without the counts: for looking up the parent of a nested resource."""
    return Dataset.objects.all()
