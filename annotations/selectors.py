from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import Count

from annotations import formats
from annotations.models import Annotation, AnnotationSet
from relay import storage
from relay.jsonrows import JSONRow, UTCTimestamp
from relay.prepared import Lazy
from relay.selectors import get_one

# Time covered by at least one annotation, per set: overlapping or touching annotations of
# one file are merged into islands first (gaps and islands over a window).
_POSITIVE_DURATION_SQL = """
SELECT annotation_set_id, COALESCE(SUM(island_end - island_start), 0)
FROM (
    SELECT annotation_set_id, MIN(start_ms) AS island_start, MAX(end_ms) AS island_end
    FROM (
        SELECT annotation_set_id, audio_file_id, start_ms, end_ms,
               SUM(new_island) OVER (PARTITION BY annotation_set_id, audio_file_id
                                     ORDER BY start_ms, end_ms ROWS UNBOUNDED PRECEDING) AS island
        FROM (
            SELECT annotation_set_id, audio_file_id, start_ms, end_ms,
                   CASE WHEN start_ms <= MAX(end_ms) OVER (
                            PARTITION BY annotation_set_id, audio_file_id ORDER BY start_ms, end_ms
                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                        THEN 0 ELSE 1 END AS new_island
            FROM annotations_annotation
            WHERE annotation_set_id = ANY(%s)
        ) AS marked
    ) AS grouped
    GROUP BY annotation_set_id, audio_file_id, island
) AS islands
GROUP BY annotation_set_id
"""


def compute_stats(set_ids):
    """{set_id: {total_annotations, total_positive_duration_ms, annotations_by_type}} in two queries."""
    stats = {pk: {"total_annotations": 0, "total_positive_duration_ms": 0, "annotations_by_type": {}} for pk in set_ids}
    if not set_ids:
        return stats
    counts = (
        Annotation.objects.filter(annotation_set_id__in=set_ids)
        .values_list("annotation_set_id", "artifact_type__name")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_type = defaultdict(dict)
    for set_id, type_name, n in counts:
        by_type[set_id][type_name] = n
    for set_id, types in by_type.items():
        stats[set_id]["annotations_by_type"] = dict(sorted(types.items()))
        stats[set_id]["total_annotations"] = sum(types.values())
    with connection.cursor() as cursor:
        cursor.execute(_POSITIVE_DURATION_SQL, [list(set_ids)])
        for set_id, total in cursor.fetchall():
            stats[set_id]["total_positive_duration_ms"] = int(total)
    return stats


def with_stats(annotation_sets):
    """Published sets carry the stats stored at publish time; drafts get live ones."""
    annotation_sets = list(annotation_sets)
    live = compute_stats([s.pk for s in annotation_sets if not s.is_published])
    for annotation_set in annotation_sets:
        if annotation_set.pk in live:
            for field, value in live[annotation_set.pk].items():
                setattr(annotation_set, field, value)
    return annotation_sets


def annotated_file_counts(set_ids):
    """{set_id: how many audio files the set annotates} in one query."""
    counts = (
        Annotation.objects.filter(annotation_set_id__in=set_ids)
        .values_list("annotation_set_id")
        .annotate(n=Count("audio_file_id", distinct=True))
        .order_by()
    )
    return {pk: 0 for pk in set_ids} | dict(counts)


def sets_for(*, dataset):
    return AnnotationSet.objects.filter(dataset=dataset)


def get_set(*, dataset, set_id):
    return get_one(AnnotationSet.objects.select_related("dataset").filter(dataset=dataset), "Annotation set", pk=set_id)


def find_set(*, tenant, dataset_id, set_id):
    """The tenant's set `set_id` of dataset `dataset_id`, its dataset loaded along (one query);
    None if there is no such set (the caller says whether the dataset or the set is missing)."""
    try:
        return AnnotationSet.objects.select_related("dataset").get(
            dataset__tenant=tenant, dataset_id=dataset_id, pk=set_id
        )
    except AnnotationSet.DoesNotExist:
        return None


def annotations_of(*, annotation_set):
    return Annotation.objects.filter(annotation_set=annotation_set).select_related("artifact_type")


def annotations_in(*, tenant, dataset_id, set_id):
    """The annotations of the tenant's set `set_id` in dataset `dataset_id`, scoped by the query
    itself (no lookup of the set first); empty when there is no such set."""
    return annotations_of(annotation_set=set_id).filter(
        annotation_set__dataset_id=dataset_id, annotation_set__dataset__tenant=tenant
    )


def annotation_list(*, tenant, dataset_id, set_id) -> Lazy:
    """`annotations_in` as a relay.prepared.Lazy queryset: a page of it, unfiltered, runs SQL
    compiled once (the API's annotation list)."""
    return Lazy(_annotations_in_ids, tenant_id=tenant.pk, dataset_id=dataset_id, set_id=set_id)


def _annotations_in_ids(*, tenant_id, dataset_id, set_id):
    return annotations_in(tenant=tenant_id, dataset_id=dataset_id, set_id=set_id)


# An annotation as the API shows it (serializers.annotation_dict), written by PostgreSQL.
ANNOTATION_JSON = JSONRow(
    id="id",
    annotation_set_id="annotation_set_id",
    audio_file_id="audio_file_id",
    artifact_type="artifact_type__name",
    start_ms="start_ms",
    end_ms="end_ms",
    confidence="confidence",
    extra_data="extra_data",
    created_at=UTCTimestamp("created_at"),
    updated_at=UTCTimestamp("updated_at"),
)


def get_annotation(*, annotation_set, annotation_id):
    return get_one(
        annotations_of(annotation_set=annotation_set).select_related("audio_file"), "Annotation", pk=annotation_id
    )


def export_set(*, annotation_set, fmt, audio_file_id=None) -> formats.Exported:
    """The set in an export format (label-studio tasks carry a download URL of each file)."""
    rows = list(
        Annotation.objects.filter(annotation_set=annotation_set)
        .order_by("audio_file_id", "start_ms", "end_ms", "id")
        .values("id", "audio_file_id", "artifact_type__name", "start_ms", "end_ms", "confidence", "extra_data")
    )
    for row in rows:
        row["id"], row["audio_file_id"] = str(row["id"]), str(row["audio_file_id"])
        row["artifact_type"] = row.pop("artifact_type__name")
    with_urls = fmt == "label-studio"
    audio = {
        str(a.id): formats.AudioFacts(
            str(a.id),
            a.filename,
            a.duration_ms,
            storage.presigned_get(a.storage_key, expires_in=settings.RELAY_DOWNLOAD_URL_EXPIRES) if with_urls else None,
        )
        for a in annotation_set.dataset.audio_files.filter(pk__in={row["audio_file_id"] for row in rows})
    }
    meta = {
        "dataset_id": str(annotation_set.dataset_id),
        "annotation_set_id": str(annotation_set.pk),
        "version": annotation_set.version,
        "status": annotation_set.status,
    }
    if fmt == "audacity" and audio_file_id:
        meta["audio_file_id"] = audio_file_id
    return formats.export(fmt, rows, audio, meta)
