from django.conf import settings
from rest_framework import serializers

from datasets.serializers import ContentTypeField, file_size_field
from inference.models import FileStatus
from relay.api.fields import (
    Input,
    StrictCharField,
    StrictFloatField,
    StrictIntegerField,
    StrictUUIDField,
    UniqueUUIDListField,
    merge_alias,
)
from training.serializers import JobFieldsSerializer


class InferenceConfigSerializer(Input):
    threshold = StrictFloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0.0,
        max_value=1.0,
        help_text="Probability above which a frame counts, for every type. Omitted or null: the per-type "
        "thresholds calibrated on the model's training and validation files (usually better than 0.5).",
    )
    merge_window_ms = StrictIntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=5000,
        help_text="Same-type detections closer than this merge. Omitted or null: calibrated per type.",
    )
    min_duration_ms = StrictIntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=1000,
        help_text="Shorter detections are dropped (0 keeps clicks of a few ms). Omitted or null: calibrated per type.",
    )


class InferenceJobCreateSerializer(Input):
    model_id = StrictUUIDField()
    config = InferenceConfigSerializer(required=False)
    audio_file_ids = UniqueUUIDListField(
        required=False,
        default=list,
        max_length=10_000,
        help_text="Run on audio already in a dataset (ready files of this tenant) (ours).",
    )
    client_reference = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    expected_files = StrictIntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=10_000,
        help_text="The number of files the job will get (ours). With it, the job completes only once that many "
        "files were added and all finished; without it, as soon as every file added so far has finished, so a "
        "client adding files one by one should set it.",
    )


class FileUploadUrlRequestSerializer(Input):
    filename = StrictCharField(min_length=1, max_length=500)
    file_size_bytes = file_size_field(
        required=False, help_text="Exact size of the file in bytes; S3 refuses any other size. Required (or file_size)."
    )
    file_size = file_size_field(
        required=False, help_text="The same as file_size_bytes (the name dataset uploads use); give one of the two."
    )
    content_type = ContentTypeField(required=False, default="audio/wav")
    expires_in = StrictIntegerField(required=False, min_value=60, max_value=settings.RELAY_UPLOAD_URL_MAX_EXPIRES)

    def validate(self, attrs):
        return merge_alias(attrs, "file_size_bytes", "file_size")


class FileUploadUrlResponseSerializer(serializers.Serializer):
    file_id = serializers.UUIDField()
    upload_url = serializers.URLField()
    upload_fields = serializers.DictField(child=serializers.CharField())
    s3_key = serializers.CharField()
    expires_in = serializers.IntegerField()
    expires_at = serializers.DateTimeField()


class FileConfirmSerializer(Input):
    file_id = StrictUUIDField()


class DetectionSerializer(serializers.Serializer):
    artifact_type = serializers.CharField()
    start_ms = serializers.IntegerField()
    end_ms = serializers.IntegerField()
    confidence = serializers.FloatField()


class InferenceFileSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    inference_job_id = serializers.UUIDField(source="job_id")
    original_filename = serializers.CharField(source="filename")
    content_type = serializers.CharField()
    file_size = serializers.IntegerField(allow_null=True)
    s3_key = serializers.CharField(source="storage_key")
    audio_file_id = serializers.UUIDField(allow_null=True)
    duration_ms = serializers.IntegerField(allow_null=True)
    sample_rate = serializers.IntegerField(allow_null=True)
    status = serializers.ChoiceField(choices=FileStatus.choices)
    error_message = serializers.CharField()
    detection_count = serializers.IntegerField()
    detections = DetectionSerializer(many=True)
    created_at = serializers.DateTimeField()
    processed_at = serializers.DateTimeField(allow_null=True)


class InferenceJobSerializer(JobFieldsSerializer):
    model_id = serializers.UUIDField(allow_null=True)
    config = serializers.DictField()
    expected_files = serializers.IntegerField(allow_null=True)
    total_files = serializers.IntegerField()
    processed_files = serializers.IntegerField()
    failed_files = serializers.IntegerField()
    total_detections = serializers.IntegerField()


class InferenceJobDetailSerializer(InferenceJobSerializer):
    files = InferenceFileSerializer(many=True)


class BatchRequestSerializer(Input):
    jobs = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        min_length=1,
        max_length=100,
        help_text="Create bodies (as POST /inference-jobs takes), each checked and answered on its own: one bad "
        "body does not refuse the others.",
    )


class BatchResultSerializer(serializers.Serializer):
    results = serializers.ListField(
        child=serializers.DictField(), help_text="In request order: {id} for a created job, {detail} for a refused one."
    )
