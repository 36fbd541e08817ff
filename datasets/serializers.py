import re
from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import timezone
from rest_framework import serializers

from datasets.services import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE
from detector.audio import CONTENT_TYPES
from relay import storage
from relay.api.fields import Input, StrictCharField, StrictIntegerField, StrictUUIDField, merge_alias

HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
MAX_ARTIFACT_TYPES = 100

# --- datasets -----------------------------------------------------------------------------


class ArtifactTypeInputSerializer(Input):
    name = StrictCharField(min_length=1, max_length=100)
    description = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="Default: empty for a new type; an existing type keeps its description.",
    )
    color = StrictCharField(
        required=False,
        help_text=(
            "Hex colour, #RRGGBB. Default: the next colour of a fixed palette of clearly different ones "
            "not yet used in the dataset; an existing type keeps its colour."
        ),
        validators=[RegexValidator(HEX_COLOR, "color must be a hex colour like #FF0000", code="value_error.color")],
    )

    def validate_color(self, value):
        return value.upper()


def unique_names(types):
    """The types, or a ValidationError for each name seen before (case-insensitive)."""
    seen, errors = set(), [{} for _ in types]
    for index, item in enumerate(types):
        key = item["name"].lower()
        if key in seen:
            message = f"duplicate artifact type name '{item['name']}'"
            errors[index] = {"name": [serializers.ErrorDetail(message, code="value_error.duplicate")]}
        seen.add(key)
    if any(errors):
        raise serializers.ValidationError(errors)
    return types


def artifact_types_field(**kwargs):
    """At least one type, names unique in the dataset (case-insensitive)."""
    return serializers.ListField(
        child=ArtifactTypeInputSerializer(), min_length=1, max_length=MAX_ARTIFACT_TYPES, **kwargs
    )


class DatasetCreateSerializer(Input):
    name = StrictCharField(min_length=1, max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=10000, default="")
    artifact_types = artifact_types_field()

    def validate_artifact_types(self, value):
        return unique_names(value)


class DatasetUpdateSerializer(Input):
    name = StrictCharField(required=False, min_length=1, max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=10000)
    artifact_types = artifact_types_field(
        required=False,
        help_text=(
            "The full list of types: new names are added, missing ones removed (409 if annotations use them); "
            "a type already there keeps its colour and description unless they are given."
        ),
    )

    def validate_artifact_types(self, value):
        return unique_names(value)


class ArtifactTypeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    color = serializers.CharField()


class DatasetSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    tenant_id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    artifact_types = ArtifactTypeSerializer(many=True)
    audio_count = serializers.IntegerField()
    total_duration_ms = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


# --- audio --------------------------------------------------------------------------------


class ContentTypeField(StrictCharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", f"One of: {', '.join(sorted(CONTENT_TYPES))}.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data).lower()
        if value not in CONTENT_TYPES:
            raise serializers.ValidationError(
                f"unsupported content type '{value}'; accepted: {', '.join(sorted(CONTENT_TYPES))}",
                code="value_error.content_type",
            )
        return value


def file_size_field(**kwargs):
    return StrictIntegerField(min_value=1, max_value=settings.RELAY_MAX_UPLOAD_BYTES, **kwargs)


def expires_in_field():
    return StrictIntegerField(
        required=False,
        min_value=60,
        max_value=settings.RELAY_UPLOAD_URL_MAX_EXPIRES,
        help_text=(
            f"Lifetime of the upload URL(s) in seconds, 60 to {settings.RELAY_UPLOAD_URL_MAX_EXPIRES} "
            f"(default {settings.RELAY_UPLOAD_URL_EXPIRES}, RELAY_UPLOAD_URL_EXPIRES)."
        ),
    )


class UploadUrlRequestSerializer(Input):
    filename = StrictCharField(min_length=1, max_length=500)
    content_type = ContentTypeField()
    file_size = file_size_field(
        required=False,
        help_text="Exact size of the file in bytes; S3 refuses any other size. Required (or file_size_bytes).",
    )
    file_size_bytes = file_size_field(
        required=False, help_text="The same as file_size (the name inference uploads use); give one of the two."
    )
    expires_in = expires_in_field()

    def validate(self, attrs):
        return merge_alias(attrs, "file_size", "file_size_bytes")


REPLACED_HELP = (
    "Failed audio files of the dataset with the same filename (and no annotations) that this upload "
    "replaced: they and their stored objects are deleted."
)


class UploadUrlResponseSerializer(serializers.Serializer):
    audio_id = serializers.UUIDField()
    replaced_audio_ids = serializers.ListField(child=serializers.UUIDField(), help_text=REPLACED_HELP)
    upload_url = serializers.URLField(help_text="POST multipart/form-data here: every entry of `fields`, then `file`.")
    fields = serializers.DictField(child=serializers.CharField())
    key = serializers.CharField()
    expires_in = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


MAX_BATCH = 100


class UploadFileSerializer(Input):
    filename = StrictCharField(min_length=1, max_length=500)
    content_type = ContentTypeField()
    file_size = file_size_field(required=False, help_text="Exact size in bytes (or file_size_bytes).")
    file_size_bytes = file_size_field(required=False, help_text="The same as file_size; give one of the two.")

    def validate(self, attrs):
        return merge_alias(attrs, "file_size", "file_size_bytes")


class UploadUrlsRequestSerializer(Input):
    files = UploadFileSerializer(many=True, allow_empty=False, min_length=1, max_length=MAX_BATCH)
    expires_in = expires_in_field()


class UploadUrlsResponseSerializer(serializers.Serializer):
    uploads = UploadUrlResponseSerializer(many=True, help_text="One per file, in the order of `files`.")


class ConfirmBatchRequestSerializer(Input):
    audio_ids = serializers.ListField(
        child=StrictUUIDField(), min_length=1, max_length=MAX_BATCH, help_text=f"1 to {MAX_BATCH} distinct ids."
    )

    def validate_audio_ids(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("ids must be distinct", code="value_error.duplicate")
        return value


class ConfirmErrorSerializer(serializers.Serializer):
    status = serializers.IntegerField(help_text="The status the single confirm would answer: 404, 409 or 422.")
    detail = serializers.CharField()


class ConfirmBatchItemSerializer(serializers.Serializer):
    audio_id = serializers.UUIDField()
    ok = serializers.BooleanField()
    status = serializers.CharField(allow_null=True, help_text="processing_status after the confirm; null on error.")
    message = serializers.CharField(allow_null=True)
    error = ConfirmErrorSerializer(allow_null=True)


class ConfirmBatchResponseSerializer(serializers.Serializer):
    confirmed = serializers.IntegerField(help_text="Items with ok true.")
    failed = serializers.IntegerField(help_text="Items with an error.")
    results = ConfirmBatchItemSerializer(many=True, help_text="One per id, in the order asked.")


class AudioIdSerializer(Input):
    audio_id = StrictUUIDField()


class ConfirmRequestSerializer(AudioIdSerializer):
    pass


class ConfirmResponseSerializer(serializers.Serializer):
    audio_id = serializers.UUIDField()
    status = serializers.CharField()
    message = serializers.CharField()


class MultipartRequestSerializer(UploadUrlRequestSerializer):
    part_size = StrictIntegerField(
        required=False,
        min_value=MIN_PART_SIZE,
        max_value=MAX_PART_SIZE,
        help_text="Bytes per part, 8-64 MiB (default 16 MiB); every part but the last has exactly this size.",
    )


class PartUrlSerializer(serializers.Serializer):
    part_number = serializers.IntegerField()
    url = serializers.URLField(help_text="PUT the part's bytes here; keep the ETag header of the answer.")
    size = serializers.IntegerField()


class MultipartResponseSerializer(serializers.Serializer):
    audio_id = serializers.UUIDField()
    replaced_audio_ids = serializers.ListField(child=serializers.UUIDField(), help_text=REPLACED_HELP)
    upload_id = serializers.CharField()
    key = serializers.CharField()
    part_size = serializers.IntegerField()
    parts = PartUrlSerializer(many=True)
    expires_in = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class CompletedPartSerializer(Input):
    part_number = StrictIntegerField(min_value=1, max_value=MAX_PARTS)
    etag = StrictCharField(min_length=1, max_length=200)


class MultipartCompleteSerializer(Input):
    audio_id = StrictUUIDField()
    parts = CompletedPartSerializer(many=True, allow_empty=False, min_length=1, max_length=MAX_PARTS)


class AudioFileSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    dataset_id = serializers.UUIDField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    file_size = serializers.IntegerField()
    processing_status = serializers.CharField(source="status")
    error_message = serializers.CharField()
    duration_ms = serializers.IntegerField(allow_null=True)
    sample_rate = serializers.IntegerField(allow_null=True)
    channels = serializers.IntegerField(allow_null=True)
    download_url = serializers.SerializerMethodField(
        help_text="A presigned GET of the original, minted on each read; null until the upload is confirmed. "
        "In the list, null unless asked for with `?include=download_url` (a signature per row costs time)."
    )
    download_expires_at = serializers.SerializerMethodField()
    upload_expires_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    processed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def presigns(self, audio):
        return audio.confirmed_at is not None and self.context.get("download_urls", True)

    def get_download_url(self, audio) -> str | None:
        if not self.presigns(audio):
            return None
        return storage.presigned_get(
            audio.storage_key, expires_in=settings.RELAY_DOWNLOAD_URL_EXPIRES, filename=audio.filename
        )

    def get_download_expires_at(self, audio) -> datetime | None:
        if not self.presigns(audio):
            return None
        return timezone.now() + timedelta(seconds=settings.RELAY_DOWNLOAD_URL_EXPIRES)
