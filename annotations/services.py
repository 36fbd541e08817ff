"""Annotation sets: versions, the draft -> published lock, and every write to annotations.

Every write takes the set's row lock (SELECT ... FOR UPDATE) and checks that the set is a
draft inside that transaction; publishing takes the same lock. So a write racing with a
publish either commits first (and is counted by the publish) or waits and gets a 409.
"""

import logging

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from annotations import formats
from annotations.models import Annotation, AnnotationSet, SetStatus
from annotations.selectors import compute_stats
from annotations.validation import DatasetContext, new_annotation, validate_items, validate_one
from datasets.models import Dataset
from relay.errors import Conflict, InvalidInput, Malformed

logger = logging.getLogger(__name__)

MAX_BULK = 10_000

# One statement for any number of rows: each column travels as one array parameter, which
# is far cheaper than the ORM compiling 10 placeholders per row.
_INSERT_SQL = """
INSERT INTO annotations_annotation
    (id, annotation_set_id, audio_file_id, artifact_type_id, start_ms, end_ms, confidence, extra_data,
     created_at, updated_at)
SELECT id, %s, audio_file_id, artifact_type_id, start_ms, end_ms, confidence, extra_data, %s, %s
FROM unnest(%s::uuid[], %s::uuid[], %s::uuid[], %s::bigint[], %s::bigint[], %s::float8[], %s::jsonb[])
    AS rows (id, audio_file_id, artifact_type_id, start_ms, end_ms, confidence, extra_data)
"""

_COPY_SQL = """
INSERT INTO annotations_annotation
    (id, annotation_set_id, audio_file_id, artifact_type_id, start_ms, end_ms, confidence, extra_data,
     created_at, updated_at)
SELECT gen_random_uuid(), %s, audio_file_id, artifact_type_id, start_ms, end_ms, confidence, extra_data, %s, %s
FROM annotations_annotation WHERE annotation_set_id = %s
"""


# Where suggested annotations come from, by name: apps above register readers (the
# inference app: "inference_job", a job's detections on the dataset's audio). A reader
# takes (tenant, dataset, source_id, min_confidence) and returns raw annotation items.
suggestion_sources = {}


def create_set(*, dataset, name="", from_version=None, from_inference_job=None, min_confidence=0.5) -> AnnotationSet:
    """A new draft with version = 1 + the dataset's highest, optionally holding a copy of
    version `from_version`'s annotations, or an inference job's detections on the
    dataset's audio with at least `min_confidence` (to correct rather than label from
    scratch). The dataset row lock serialises concurrent calls."""
    if from_version is not None and from_inference_job is not None:
        raise InvalidInput.at(
            ["body", "from_inference_job"], "give from_version or from_inference_job, not both", "value_error.conflict"
        )
    suggested = None
    if from_inference_job is not None:
        read = suggestion_sources["inference_job"]
        suggested = read(
            tenant=dataset.tenant, dataset=dataset, source_id=from_inference_job, min_confidence=min_confidence
        )
    annotation_set = _new_version(dataset, name, from_version)
    if suggested:
        add_annotations(
            annotation_set=annotation_set,
            items=validate_items(suggested, _context(annotation_set), loc=("body", "from_inference_job"), strict=False),
        )
    return annotation_set


def _new_version(dataset, name, from_version):
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        source = None
        if from_version is not None:
            source = AnnotationSet.objects.filter(dataset=dataset, version=from_version).first()
            if source is None:
                raise InvalidInput.at(
                    ["body", "from_version"],
                    f"this dataset has no annotation set version {from_version}",
                    "value_error.not_found",
                )
        latest = AnnotationSet.objects.filter(dataset=dataset).order_by("-version").values_list("version", flat=True)
        version = (latest.first() or 0) + 1
        annotation_set = AnnotationSet.objects.create(
            dataset=dataset, version=version, name=name, from_version=from_version
        )
        if source is not None:
            now = timezone.now()
            with connection.cursor() as cursor:
                cursor.execute(_COPY_SQL, [annotation_set.pk, now, now, source.pk])
    logger.info("annotation set created dataset=%s version=%d from=%s", dataset.pk, version, from_version)
    return annotation_set


def assert_draft(annotation_set) -> AnnotationSet:
    if annotation_set.is_published:
        raise Conflict(
            f"Annotation set version {annotation_set.version} is published and can no longer change; "
            f"create a new draft with from_version={annotation_set.version} to edit a copy"
        )
    return annotation_set


def _lock_draft(annotation_set) -> AnnotationSet:
    """Lock the set's row; 409 unless it is (still) a draft. Call inside a transaction."""
    return assert_draft(AnnotationSet.objects.select_for_update().get(pk=annotation_set.pk))


def _touch(annotation_set):
    AnnotationSet.objects.filter(pk=annotation_set.pk).update(updated_at=timezone.now())


APPEND, REPLACE = "append", "replace"
IMPORT_MODES = (APPEND, REPLACE)


def add_annotations(*, annotation_set, items, mode=None):
    """Insert validated items (validation.validate_items) in one query, all or nothing.
    `mode` (imports): REPLACE deletes the draft's annotations first, in the same
    transaction; APPEND leaves out the items that duplicate an annotation already in the
    set (same file, type, start and end). The inserted annotations; with a `mode`, also a
    dict of `duplicates_skipped` and `replaced` counts."""
    now = timezone.now()
    counts = {"duplicates_skipped": 0, "replaced": 0}
    with transaction.atomic():
        locked = _lock_draft(annotation_set)
        objects = [new_annotation(clean, locked, now) for clean in items]
        if mode == REPLACE:
            counts["replaced"], _ = Annotation.objects.filter(annotation_set=locked).delete()
        elif mode == APPEND:
            fresh = _without_existing(locked, objects)
            counts["duplicates_skipped"] = len(objects) - len(fresh)
            objects = fresh
        try:
            with transaction.atomic():
                _insert(locked, objects, now)
        except IntegrityError as error:
            raise Conflict(f"An audio file or artifact type was deleted meanwhile: {error.__cause__}") from None
        _touch(locked)
    logger.info("annotations added set=%s count=%d mode=%s %s", annotation_set.pk, len(objects), mode, counts)
    return objects if mode is None else (objects, counts)


def _key(audio_file_id, artifact_type_id, start_ms, end_ms):
    return (str(audio_file_id), str(artifact_type_id), start_ms, end_ms)


def _without_existing(annotation_set, objects):
    """`objects` but those already in the set (same file, type, start and end)."""
    existing = {
        _key(*row)
        for row in Annotation.objects.filter(
            annotation_set=annotation_set, audio_file_id__in={o.audio_file_id for o in objects}
        ).values_list("audio_file_id", "artifact_type_id", "start_ms", "end_ms")
    }
    return [o for o in objects if _key(o.audio_file_id, o.artifact_type_id, o.start_ms, o.end_ms) not in existing]


def _insert(annotation_set, objects, now):
    if not objects:
        return
    columns = [
        [o.id for o in objects],
        [o.audio_file_id for o in objects],
        [o.artifact_type_id for o in objects],
        [o.start_ms for o in objects],
        [o.end_ms for o in objects],
        [o.confidence for o in objects],
        [Jsonb(o.extra_data) for o in objects],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, [annotation_set.pk, now, now, *columns])


def add_annotation(*, annotation_set, raw):
    """One annotation from a request body (validated here); the created annotation."""
    (annotation,) = add_annotations(annotation_set=annotation_set, items=[validate_one(raw, _context(annotation_set))])
    return annotation


def add_bulk(*, annotation_set, raw_items):
    """Up to MAX_BULK annotations from a request, all or nothing."""
    if not isinstance(raw_items, list):
        code, msg = (
            ("value_error.missing", "field required")
            if raw_items is None
            else ("type_error.list", "value is not a valid list")
        )
        raise InvalidInput.at(["body", "annotations"], msg, code)
    if len(raw_items) > MAX_BULK:
        raise InvalidInput.at(
            ["body", "annotations"], f"at most {MAX_BULK} annotations per call", "value_error.list.max_items"
        )
    assert_draft(annotation_set)
    return add_annotations(annotation_set=annotation_set, items=validate_items(raw_items, _context(annotation_set)))


def import_annotations(*, annotation_set, fmt, body, audio_file_id=None, mode=APPEND):
    """Parse an uploaded file and add its annotations to a draft, all or nothing: appended,
    leaving out rows that duplicate existing annotations, or (`mode=REPLACE`) instead of the
    draft's annotations. (created annotations, {"duplicates_skipped", "replaced"})."""
    if mode not in IMPORT_MODES:
        raise InvalidInput.at(
            ["query", "mode"], f"mode must be one of: {', '.join(IMPORT_MODES)} (default append)", "type_error.enum"
        )
    assert_draft(annotation_set)  # a 409 before reading the file; checked again under the lock
    try:
        items = formats.parse(fmt, body, audio_file_id=audio_file_id)
    except formats.MalformedImport as error:
        raise Malformed(f"Malformed {fmt} import: {error}") from None
    if not items:
        raise InvalidInput.at(["body"], "the file holds no annotations", "value_error.empty")
    if len(items) > settings.RELAY_MAX_IMPORT_ANNOTATIONS:
        raise InvalidInput.at(
            ["body"],
            f"at most {settings.RELAY_MAX_IMPORT_ANNOTATIONS} annotations per import",
            "value_error.list.max_items",
        )
    context = _context(annotation_set)
    problems = formats.resolve_filenames(items, context.audio_by_filename())
    if problems:
        raise InvalidInput(problems)
    return add_annotations(annotation_set=annotation_set, items=validate_items(items, context, strict=False), mode=mode)


def _context(annotation_set):
    return DatasetContext(annotation_set.dataset)


def update_annotation(*, annotation, raw) -> Annotation:
    clean = validate_one(raw, _context(annotation.annotation_set), partial_of=annotation)
    with transaction.atomic():
        _lock_draft(annotation.annotation_set)
        annotation.audio_file = clean["audio"]
        annotation.artifact_type = clean["artifact_type"]
        for field in ("start_ms", "end_ms", "confidence", "extra_data"):
            setattr(annotation, field, clean[field])
        annotation.save()
        _touch(annotation.annotation_set)
    return annotation


def delete_annotation(*, annotation) -> None:
    with transaction.atomic():
        _lock_draft(annotation.annotation_set)
        annotation.delete()
        _touch(annotation.annotation_set)


def rename_draft(*, annotation_set, name) -> None:
    """Rename a draft (the admin's one edit); a Conflict once it is published."""
    with transaction.atomic():
        _lock_draft(annotation_set)
        AnnotationSet.objects.filter(pk=annotation_set.pk).update(name=name, updated_at=timezone.now())


def delete_set(*, annotation_set) -> None:
    with transaction.atomic():
        locked = _lock_draft(annotation_set)
        locked.delete()
    logger.info("annotation set deleted set=%s", annotation_set.pk)


def publish(*, annotation_set) -> AnnotationSet:
    """Compute and store the stats, stamp published_at, lock the set for good."""
    with transaction.atomic():
        locked = AnnotationSet.objects.select_for_update().get(pk=annotation_set.pk)
        if locked.is_published:
            raise Conflict(f"Annotation set version {locked.version} is already published")
        stats = compute_stats([locked.pk])[locked.pk]
        if stats["total_annotations"] == 0:
            raise Conflict("An empty annotation set cannot be published; add annotations first")
        for field, value in stats.items():
            setattr(locked, field, value)
        locked.status = SetStatus.PUBLISHED
        locked.published_at = timezone.now()
        locked.save()
    logger.info(
        "annotation set published set=%s version=%d annotations=%d", locked.pk, locked.version, locked.total_annotations
    )
    return locked
