"""Services and selectors run without HTTP and raise plain domain errors."""

import pytest

from datasets import selectors, services
from relay import errors
from relay.services import create_tenant

pytestmark = pytest.mark.django_db

GLITCH = {"name": "glitch", "description": "", "color": "#FF0000"}


def test_a_dataset_is_created_and_found_for_its_tenant_only():
    tenant, _, _ = create_tenant(name="a")
    other, _, _ = create_tenant(name="b")
    dataset = services.create_dataset(tenant=tenant, name="podcasts", artifact_types=[GLITCH])
    assert selectors.get_dataset(tenant=tenant, dataset_id=dataset.pk).audio_count == 0
    with pytest.raises(errors.NotFound, match="Dataset not found"):
        selectors.get_dataset(tenant=other, dataset_id=dataset.pk)
    with pytest.raises(errors.NotFound):
        selectors.get_dataset(tenant=tenant, dataset_id="not-a-uuid")


def test_too_many_parts_is_invalid_input_located_in_the_body():
    tenant, _, _ = create_tenant(name="a")
    dataset = services.create_dataset(tenant=tenant, name="d", artifact_types=[GLITCH])
    with pytest.raises(errors.InvalidInput) as raised:
        services.create_multipart_upload(
            dataset=dataset,
            filename="huge.wav",
            content_type="audio/wav",
            file_size=10_001 * 8 * 1024 * 1024,
            part_size=8 * 1024 * 1024,
            expires_in=60,
        )
    assert raised.value.problems[0]["loc"] == ["body", "part_size"]


def test_confirming_nothing_is_a_conflict():
    tenant, _, _ = create_tenant(name="a")
    dataset = services.create_dataset(tenant=tenant, name="d", artifact_types=[GLITCH])
    audio, _, _ = services.create_upload(
        dataset=dataset, filename="a.wav", content_type="audio/wav", file_size=10, expires_in=60
    )
    with pytest.raises(errors.Conflict, match="no uploaded object yet"):
        services.confirm_upload(audio=audio)
