from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from datasets.formats import CONTENT_TYPES
from datasets.uploads import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE
from relay import storage
from relay.api.fields import StrictCharField, StrictIntegerField, StrictUUIDField


class ContentTypeField(StrictCharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data).lower()
        if value not in CONTENT_TYPES:
            raise serializers.ValidationError(
                f"unsupported content type '{value}'; accepted: {', '.join(sorted(CONTENT_TYPES))}",
                code="value_error.content_type",
            )
        return value


def _file_size_field():
    return StrictIntegerField(
        min_value=1,
        max_value=settings.RELAY_MAX_UPLOAD_BYTES,
        help_text="Exact size of the file in bytes; S3 refuses any other size.",
    )


def _expires_in_field():
    return StrictIntegerField(
        required=False,
        min_value=60,
        max_value=7 * 24 * 3600,
        help_text="Lifetime of the upload URL(s) in seconds (default RELAY_UPLOAD_URL_EXPIRES, 3600).",
    )


class UploadUrlRequestSerializer(serializers.Serializer):
    filename = StrictCharField(min_length=1, max_length=500)
    content_type = ContentTypeField()
    file_size = _file_size_field()
    expires_in = _expires_in_field()


class UploadUrlResponseSerializer(serializers.Serializer):
    audio_id = serializers.UUIDField()
    upload_url = serializers.URLField(help_text="POST multipart/form-data here: every entry of `fields`, then `file`.")
    fields = serializers.DictField(child=serializers.CharField())
    key = serializers.CharField()
    expires_in = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class ConfirmRequestSerializer(serializers.Serializer):
    audio_id = StrictUUIDField()


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
    upload_id = serializers.CharField()
    key = serializers.CharField()
    part_size = serializers.IntegerField()
    parts = PartUrlSerializer(many=True)
    expires_in = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class CompletedPartSerializer(serializers.Serializer):
    part_number = StrictIntegerField(min_value=1, max_value=MAX_PARTS)
    etag = StrictCharField(min_length=1, max_length=200)


class MultipartCompleteSerializer(serializers.Serializer):
    audio_id = StrictUUIDField()
    parts = CompletedPartSerializer(many=True, allow_empty=False, max_length=MAX_PARTS)


class AudioIdSerializer(serializers.Serializer):
    audio_id = StrictUUIDField()


class AudioFileSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    dataset_id = serializers.UUIDField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    file_size = serializers.IntegerField()
    processing_status = serializers.CharField()
    error_message = serializers.CharField()
    duration_ms = serializers.IntegerField(allow_null=True)
    sample_rate = serializers.IntegerField(allow_null=True)
    channels = serializers.IntegerField(allow_null=True)
    download_url = serializers.SerializerMethodField(
        help_text="A presigned GET of the original, minted on each read; null until the upload is confirmed."
    )
    download_expires_at = serializers.SerializerMethodField()
    upload_expires_at = serializers.DateTimeField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    processed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_download_url(self, audio) -> str | None:
        if audio.confirmed_at is None:
            return None
        return storage.presigned_get(
            audio.storage_key, expires_in=settings.RELAY_DOWNLOAD_URL_EXPIRES, filename=audio.filename
        )

    def get_download_expires_at(self, audio) -> datetime | None:
        if audio.confirmed_at is None:
            return None
        return timezone.now() + timedelta(seconds=settings.RELAY_DOWNLOAD_URL_EXPIRES)
