"""Writes to datasets, their artifact types and audio files.

Audio arrives through the core's presigned-upload flow (`relay.uploads`): a presigned POST
or a multipart upload, confirm (the object is verified), then the `datasets.process_audio`
task (`datasets/runner.py`), or `datasets.process_audio_batch` for small files confirmed
together.
"""

import logging
import math
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Max, ProtectedError, RestrictedError
from django.utils import timezone

from datasets import selectors
from datasets.models import ArtifactType, AudioFile, AudioStatus, Dataset
from relay import storage, uploads, work
from relay.errors import Conflict, InvalidInput, NotFound
from relay.jobs import ACTIVE

logger = logging.getLogger(__name__)

# Default colours of artifact types, clearly different from one another (Trubetskoy's
# "20 distinct colours", the first ten): a type created without a colour takes the first
# one not used yet in its dataset.
PALETTE = (
    "#E6194B",  # red
    "#3CB44B",  # green
    "#4363D8",  # blue
    "#F58231",  # orange
    "#911EB4",  # purple
    "#42D4F4",  # cyan
    "#F032E6",  # magenta
    "#BFEF45",  # lime
    "#9A6324",  # brown
    "#469990",  # teal
)

MIN_PART_SIZE = 8 * 1024 * 1024
MAX_PART_SIZE = 64 * 1024 * 1024
MAX_PARTS = 10_000
MULTIPART_FIRST = "Complete the multipart upload first (POST .../audio/multipart/complete)"

# --- datasets -----------------------------------------------------------------------------


def default_colors(count, used):
    """`count` colours for new types: the palette's colours not in `used` first, in order,
    then (more types than colours) the palette again, least used first."""
    used = [color.upper() for color in used]
    colors = []
    for _ in range(count):
        taken = used + colors
        colors.append(min(PALETTE, key=lambda color: (taken.count(color), PALETTE.index(color))))
    return colors


def _with_defaults(new_types, used):
    """New types' fields with a description and a colour (see `default_colors`)."""
    colors = iter(default_colors(sum("color" not in fields for fields in new_types), used))
    return [
        {"description": "", **fields, "color": fields["color"] if "color" in fields else next(colors)}
        for fields in new_types
    ]


@transaction.atomic
def create_dataset(*, tenant, name, description="", artifact_types) -> Dataset:
    """The dataset and its types; types without a colour get distinct ones (`PALETTE`)."""
    dataset = Dataset.objects.create(tenant=tenant, name=name, description=description)
    given = [fields["color"] for fields in artifact_types if "color" in fields]
    ArtifactType.objects.bulk_create(
        ArtifactType(dataset=dataset, **fields) for fields in _with_defaults(artifact_types, given)
    )
    logger.info("dataset created id=%s types=%d", dataset.id, len(artifact_types))
    return dataset


@transaction.atomic
def update_dataset(*, tenant, dataset, **changes) -> Dataset:
    """Change name and description; `artifact_types`, when given, is the full new list:
    types are matched by name (case-insensitive), new ones added, missing ones removed
    (a Conflict while annotations use them); a kept type changes only the fields given
    (its colour and description stay otherwise)."""
    dataset = Dataset.objects.select_for_update().get(tenant=tenant, pk=dataset.pk)
    for field in ("name", "description"):
        if field in changes:
            setattr(dataset, field, changes[field])
    dataset.save()
    if "artifact_types" in changes:
        _replace_artifact_types(dataset, changes["artifact_types"])
    logger.info("dataset updated id=%s fields=%s", dataset.id, ",".join(sorted(changes)))
    return dataset


def _replace_artifact_types(dataset, wanted):
    existing = {artifact_type.name.lower(): artifact_type for artifact_type in dataset.artifact_types.all()}
    wanted_by_name = {fields["name"].lower(): fields for fields in wanted}
    for key, artifact_type in existing.items():
        if key not in wanted_by_name:
            try:
                with transaction.atomic():
                    artifact_type.delete()
            except (ProtectedError, RestrictedError) as error:
                used = getattr(error, "protected_objects", None) or getattr(error, "restricted_objects", ())
                raise Conflict(
                    f"Artifact type '{artifact_type.name}' is used by {len(used)} annotation(s) and cannot be removed"
                ) from None
    kept = {key: existing[key] for key in wanted_by_name if key in existing}
    for key, artifact_type in kept.items():
        for field, value in wanted_by_name[key].items():
            setattr(artifact_type, field, value)
        artifact_type.save()
    new_types = [fields for key, fields in wanted_by_name.items() if key not in existing]
    used = [t.color for t in kept.values()] + [fields["color"] for fields in new_types if "color" in fields]
    for fields in _with_defaults(new_types, used):
        ArtifactType.objects.create(dataset=dataset, **fields)


def delete_dataset(*, tenant, dataset) -> None:
    """Delete the dataset with its audio, annotation sets and, once that commits, its objects."""
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        last_upload = dataset.audio_files.filter(status=AudioStatus.PENDING).aggregate(at=Max("upload_expires_at"))[
            "at"
        ]
        if dataset.training_jobs.filter(status__in=ACTIVE).exists():
            raise Conflict("A training job on this dataset has not finished; cancel it or wait before deleting")
        try:
            Dataset.objects.filter(tenant=tenant, pk=dataset.pk).delete()
        except (ProtectedError, RestrictedError, IntegrityError) as error:
            raise Conflict(f"Dataset is in use and cannot be deleted: {error}") from None
        work.delete_objects_on_commit(dataset.storage_prefix, again_at=last_upload)
    logger.info("dataset deleted id=%s", dataset.id)


# --- audio uploads ------------------------------------------------------------------------


def _new_audio(*, dataset, filename, content_type, file_size, expires_in, **extra):
    audio_id = uuid.uuid4()
    return AudioFile(
        id=audio_id,
        dataset=dataset,
        filename=filename,
        content_type=content_type,
        file_size=file_size,
        storage_key=uploads.original_key(f"{dataset.storage_prefix}audio/", audio_id, content_type),
        upload_expires_at=uploads.expiry(expires_in),
        **extra,
    )


def _replace_failed(dataset, filenames) -> dict:
    """Delete the dataset's `failed` files with these names that no annotation uses, and
    their objects once the transaction commits: a new upload of that name replaces them.
    Call inside the transaction that saves the new files. Returns {name: [their ids]}."""
    failed = list(
        AudioFile.objects.select_for_update()
        .filter(dataset=dataset, filename__in=list(filenames), status=AudioStatus.FAILED)
        .exclude(annotations__isnull=False)  # the reverse relation of annotations.Annotation
    )
    replaced = {}
    for audio in failed:
        if audio.multipart_upload_id:
            storage.abort_multipart(audio.storage_key, upload_id=audio.multipart_upload_id)
        replaced.setdefault(audio.filename, []).append(audio.pk)
        work.delete_objects_on_commit(audio.object_prefix)
    if failed:
        AudioFile.objects.filter(pk__in=[audio.pk for audio in failed]).delete()
        logger.info("failed audio replaced by a new upload: %s", ",".join(str(audio.pk) for audio in failed))
    return replaced


def create_upload(*, dataset, filename, content_type, file_size, expires_in):
    """A pending AudioFile and the presigned POST that can fill it (and nothing else). A
    failed file of the same name is replaced (`_replace_failed`); `audio.replaced_ids` names them."""
    file = {"filename": filename, "content_type": content_type, "file_size": file_size}
    return create_uploads(dataset=dataset, files=[file], expires_in=expires_in)[0]


def create_uploads(*, dataset, files, expires_in):
    """Many pending AudioFiles in one transaction, each with its presigned POST:
    [(audio, url, fields)] in the order of `files` (dicts of filename, content_type, file_size).
    Failed files of these names are replaced (`_replace_failed`)."""
    audios = [_new_audio(dataset=dataset, expires_in=expires_in, **file) for file in files]
    signed = [(audio, *uploads.presign(audio, expires_in)) for audio in audios]
    with transaction.atomic():
        replaced = _replace_failed(dataset, {audio.filename for audio in audios})
        for audio in audios:
            audio.replaced_ids = replaced.pop(audio.filename, [])  # named once, on the first of that name
        AudioFile.objects.bulk_create(audios)
        work.created(AudioFile, [audio.pk for audio in audios])
    for audio in audios:
        logger.info("upload url issued audio=%s size=%d type=%s", audio.id, audio.file_size, audio.content_type)
    return signed


def create_multipart_upload(*, dataset, filename, content_type, file_size, part_size, expires_in):
    part_count = math.ceil(file_size / part_size)
    if part_count > MAX_PARTS:
        raise InvalidInput.at(
            ["body", "part_size"], f"{part_count} parts; S3 allows at most {MAX_PARTS}", "value_error.too_many_parts"
        )
    audio = _new_audio(
        dataset=dataset,
        filename=filename,
        content_type=content_type,
        file_size=file_size,
        expires_in=expires_in,
        multipart_part_size=part_size,
    )
    upload_id = storage.create_multipart(audio.storage_key, content_type=content_type)
    try:
        audio.multipart_upload_id = upload_id
        with transaction.atomic():
            audio.replaced_ids = _replace_failed(dataset, [filename]).get(filename, [])
            audio.save(force_insert=True)
            work.created(AudioFile, [audio.pk])
    except Exception:
        storage.abort_multipart(audio.storage_key, upload_id=upload_id)
        raise
    parts = [
        {
            "part_number": number,
            "url": storage.presigned_part(
                audio.storage_key, upload_id=upload_id, part_number=number, expires_in=expires_in
            ),
            "size": min(part_size, file_size - (number - 1) * part_size),
        }
        for number in range(1, part_count + 1)
    ]
    logger.info("multipart upload started audio=%s size=%d parts=%d", audio.id, file_size, part_count)
    return audio, upload_id, parts


def _pending_multipart(audio):
    if audio.status != AudioStatus.PENDING or not audio.multipart_upload_id:
        raise Conflict(f"Audio file {audio.id} has no multipart upload in progress")


def complete_multipart_upload(*, audio, parts):
    _pending_multipart(audio)
    numbers = [part["part_number"] for part in parts]
    expected = math.ceil(audio.file_size / audio.multipart_part_size)
    if numbers != list(range(1, expected + 1)):
        raise InvalidInput.at(
            ["body", "parts"], f"expected parts 1 to {expected} in order, got {numbers[:20]}", "value_error.parts"
        )
    try:
        storage.complete_multipart(audio.storage_key, upload_id=audio.multipart_upload_id, parts=parts)
    except storage.MultipartRejected as error:
        raise InvalidInput.at(["body", "parts"], f"S3 refused the parts: {error}", "value_error.parts") from None
    AudioFile.objects.filter(pk=audio.pk).update(multipart_upload_id="", updated_at=timezone.now())
    audio.multipart_upload_id = ""
    uploads.verify(audio, loc=["body", "audio_id"])
    logger.info("multipart upload completed audio=%s", audio.id)
    return audio


def abort_multipart_upload(*, audio):
    _pending_multipart(audio)
    storage.abort_multipart(audio.storage_key, upload_id=audio.multipart_upload_id)
    AudioFile.objects.filter(pk=audio.pk).update(multipart_upload_id="")
    uploads.discard(audio, "upload aborted by the client")
    audio.refresh_from_db()
    return audio


def confirm_upload(*, audio):
    """Verify the object and queue processing. Idempotent: a confirmed file is returned as it is."""
    if audio.status == AudioStatus.PENDING and audio.multipart_upload_id:
        raise Conflict(MULTIPART_FIRST)
    return uploads.confirm(audio, loc=["body", "audio_id"])


def confirm_uploads(*, dataset, audio_ids):
    """Confirm each of `audio_ids` on its own: [(audio_id, audio or None, DomainError or None)]
    in the order asked. An id that is not a file of this dataset is a NotFound, as in the
    single confirm; one file's failure does not undo the others. Storage or the database
    down makes the whole call a 503 (confirm is idempotent: it can be retried)."""
    found = selectors.audio_of_dataset_by_id(dataset=dataset, audio_ids=audio_ids)
    results = {}
    confirmable, locs = [], []
    for index, audio_id in enumerate(audio_ids):
        audio = found.get(audio_id)
        if audio is None:
            results[index] = (audio_id, None, NotFound("Audio file not found"))
        elif audio.status == AudioStatus.PENDING and audio.multipart_upload_id:
            results[index] = (audio_id, None, Conflict(MULTIPART_FIRST))
        else:
            confirmable.append((index, audio_id))
            locs.append(["body", "audio_ids", index])
    outcomes = uploads.confirm_many([found[audio_id] for _, audio_id in confirmable], locs)
    for (index, audio_id), (audio, error) in zip(confirmable, outcomes, strict=True):
        results[index] = (audio_id, audio, error)
    return [results[index] for index in range(len(audio_ids))]


# Files up to this size (about a minute of 16 kHz 16-bit WAV) are processed up to
# SMALL_FILES_PER_TASK to a task: their fixed costs (a task, two transactions, the
# round trips to storage) would otherwise outweigh their decoding.
SMALL_FILE_BYTES = 2 * 1024 * 1024
SMALL_FILES_PER_TASK = 16


def queue_processing(audios):
    """pending -> normalizing (queued for decoding) for each of `audios`; their tasks are
    sent once that commits: a task per file, small files several to a task."""
    with transaction.atomic():
        pending = AudioFile.objects.filter(pk__in=[audio.pk for audio in audios], status=AudioStatus.PENDING)
        moved = set(
            work.transition_all(
                AudioFile, pending, to=AudioStatus.NORMALIZING, confirmed_at=timezone.now(), error_message=""
            )
        )
        small = []
        for audio in audios:
            if audio.pk not in moved:
                continue
            if (audio.file_size or 0) <= SMALL_FILE_BYTES:
                small.append(audio.pk)
            else:
                work.enqueue(AudioFile, audio.pk)
        for first in range(0, len(small), SMALL_FILES_PER_TASK):
            chunk = small[first : first + SMALL_FILES_PER_TASK]
            if len(chunk) == 1:
                work.enqueue(AudioFile, chunk[0])
            else:
                work.enqueue_batch(AudioFile, chunk)


STATUS_MESSAGES = {
    AudioStatus.PENDING: "Waiting for the upload",
    AudioStatus.NORMALIZING: "Upload verified; decoding is queued or running",
    AudioStatus.EMBEDDING: "Decoded; computing features",
    AudioStatus.READY: "Ready",
}


def status_message(audio):
    if audio.status == AudioStatus.FAILED:
        return f"Failed: {audio.error_message}"
    return STATUS_MESSAGES[audio.status]


def delete_audio(*, audio):
    """Delete the file and, once that commits, its objects. A Conflict while a published
    annotation set refers to it: published ground truth never changes."""
    with transaction.atomic():
        locked = AudioFile.objects.select_for_update().filter(pk=audio.pk).first()
        if locked is None:
            return
        versions = sorted(
            locked.annotations.filter(annotation_set__published_at__isnull=False)
            .values_list("annotation_set__version", flat=True)
            .distinct()
        )
        if versions:
            raise Conflict(
                f"Audio file is annotated in published annotation set version(s) {', '.join(map(str, versions))} "
                "and cannot be deleted"
            )
        if locked.multipart_upload_id:
            storage.abort_multipart(locked.storage_key, upload_id=locked.multipart_upload_id)
        locked.delete()
        pending = locked.status == AudioStatus.PENDING
        work.delete_objects_on_commit(audio.object_prefix, again_at=locked.upload_expires_at if pending else None)
    logger.info("audio deleted audio=%s", audio.pk)


def reprocess(queryset):
    """Operator action: process confirmed files again (e.g. after a decoder fix)."""
    count = 0
    for pk in queryset.filter(confirmed_at__isnull=False).values_list("pk", flat=True):
        count += work.requeue(AudioFile, pk)  # confirmed_at is never cleared
    logger.info("reprocessing %d audio files", count)
    return count
