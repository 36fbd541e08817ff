from rest_framework import serializers

from annotations.models import SetStatus
from annotations.validation import EXTRA_DATA_MAX_BYTES
from relay.api.fields import Input, StrictCharField, StrictFloatField, StrictIntegerField, StrictUUIDField


class AnnotationSetCreateSerializer(Input):
    name = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    from_version = StrictIntegerField(
        required=False, min_value=1, help_text="Copy the annotations of this version into the new draft."
    )
    from_inference_job = StrictUUIDField(
        required=False,
        help_text="Fill the draft with this inference job's detections on the dataset's audio (files it ran on "
        "through `audio_file_ids`), confidence kept, to correct them rather than label from scratch.",
    )
    min_confidence = StrictFloatField(
        required=False,
        default=0.5,
        min_value=0.0,
        max_value=1.0,
        help_text="With from_inference_job: only detections at least this confident.",
    )


class AnnotationSetSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    dataset_id = serializers.UUIDField()
    version = serializers.IntegerField()
    status = serializers.ChoiceField(choices=SetStatus.choices)
    name = serializers.CharField()
    from_version = serializers.IntegerField(allow_null=True)
    total_annotations = serializers.IntegerField()
    total_positive_duration_ms = serializers.IntegerField(
        help_text="Time covered by at least one annotation (overlaps counted once)."
    )
    annotations_by_type = serializers.DictField(child=serializers.IntegerField())
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    published_at = serializers.DateTimeField(allow_null=True)


class AnnotationCreateSerializer(Input):
    """The documented shape; requests are checked by annotations.validation (same rules, faster)."""

    audio_file_id = serializers.UUIDField(help_text="An audio file of this dataset that has been confirmed.")
    artifact_type = serializers.CharField(help_text="The name of one of the dataset's artifact types.")
    start_ms = serializers.IntegerField(min_value=0)
    end_ms = serializers.IntegerField(min_value=1, help_text="> start_ms and <= the file's duration_ms.")
    confidence = serializers.FloatField(required=False, min_value=0, max_value=1, default=1.0)
    extra_data = serializers.DictField(
        required=False, help_text=f"A JSON object of at most {EXTRA_DATA_MAX_BYTES} bytes."
    )


class AnnotationUpdateSerializer(AnnotationCreateSerializer):
    """Any subset of AnnotationCreate's fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class AnnotationSerializer(AnnotationCreateSerializer):
    id = serializers.UUIDField()
    annotation_set_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AnnotationSetDetailSerializer(AnnotationSetSerializer):
    annotations = AnnotationSerializer(many=True)
    annotations_truncated = serializers.BooleanField(
        help_text="True when the set holds more annotations than listed here; page through .../annotations."
    )


class BulkCreateSerializer(Input):
    annotations = AnnotationCreateSerializer(many=True)


class BulkCreatedSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    annotations = AnnotationSerializer(many=True)


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    mode = serializers.ChoiceField(choices=["append", "replace"])
    duplicates_skipped = serializers.IntegerField(
        help_text="append: rows left out because the draft already holds an annotation of the same file, "
        "type, start and end."
    )
    replaced = serializers.IntegerField(help_text="replace: how many annotations of the draft were deleted first.")
    annotation_set = AnnotationSetSerializer()


def annotation_dict(annotation):
    """An Annotation as the API shows it (a plain function: thousands per response)."""
    return {
        "id": str(annotation.id),
        "annotation_set_id": str(annotation.annotation_set_id),
        "audio_file_id": str(annotation.audio_file_id),
        "artifact_type": annotation.artifact_type.name,
        "start_ms": annotation.start_ms,
        "end_ms": annotation.end_ms,
        "confidence": annotation.confidence,
        "extra_data": annotation.extra_data,
        "created_at": _iso(annotation.created_at),
        "updated_at": _iso(annotation.updated_at),
    }


def _iso(moment):
    return moment.isoformat().replace("+00:00", "Z")
