import logging

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, RestrictedError

from datasets.models import ArtifactType, Dataset
from relay.api.exceptions import Conflict
from relay.queueing import enqueue_on_commit

logger = logging.getLogger(__name__)


@transaction.atomic
def create_dataset(*, tenant, name, description="", artifact_types) -> Dataset:
    dataset = Dataset.objects.create(tenant=tenant, name=name, description=description)
    ArtifactType.objects.bulk_create(ArtifactType(dataset=dataset, **fields) for fields in artifact_types)
    logger.info("dataset created id=%s types=%d", dataset.id, len(artifact_types))
    return dataset


@transaction.atomic
def update_dataset(*, tenant, dataset, **changes) -> Dataset:
    """Change name and description; `artifact_types`, when given, is the full new list:
    types are matched by name (case-insensitive), new ones added, missing ones removed
    (409 while annotations use them)."""
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
    for key, fields in wanted_by_name.items():
        artifact_type = existing.get(key)
        if artifact_type is None:
            ArtifactType.objects.create(dataset=dataset, **fields)
            continue
        for field, value in fields.items():
            setattr(artifact_type, field, value)
        artifact_type.save()


def delete_dataset(*, tenant, dataset) -> None:
    from datasets.tasks import delete_storage_prefix
    from relay.jobs import ACTIVE
    from training.models import TrainingJob

    prefix = dataset.storage_prefix
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()
        if TrainingJob.objects.filter(dataset=dataset, status__in=ACTIVE).exists():
            raise Conflict("A training job on this dataset has not finished; cancel it or wait before deleting")
        try:
            Dataset.objects.filter(tenant=tenant, pk=dataset.pk).delete()
        except (ProtectedError, RestrictedError, IntegrityError) as error:
            raise Conflict(f"Dataset is in use and cannot be deleted: {error}") from None
        enqueue_on_commit(delete_storage_prefix, prefix)
    logger.info("dataset deleted id=%s", dataset.id)
