import re

from rest_framework import serializers

from relay.api.fields import StrictCharField

HEX_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
MAX_ARTIFACT_TYPES = 100


class ArtifactTypeInputSerializer(serializers.Serializer):
    name = StrictCharField(min_length=1, max_length=100)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")
    color = StrictCharField(required=False, default="#FF0000", help_text="Hex colour, #RRGGBB.")

    def validate_color(self, value):
        if not HEX_COLOR.match(value):
            raise serializers.ValidationError("color must be a hex colour like #FF0000", code="value_error.color")
        return value.upper()


class ArtifactTypeListField(serializers.ListSerializer):
    """At least one type, names unique in the dataset (case-insensitive)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("child", ArtifactTypeInputSerializer())
        kwargs.setdefault("allow_empty", False)
        kwargs.setdefault("max_length", MAX_ARTIFACT_TYPES)
        super().__init__(*args, **kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        seen, errors = set(), [{} for _ in value]
        for index, item in enumerate(value):
            key = item["name"].lower()
            if key in seen:
                errors[index] = {
                    "name": [
                        serializers.ErrorDetail(
                            f"duplicate artifact type name '{item['name']}'", code="value_error.duplicate"
                        )
                    ]
                }
            seen.add(key)
        if any(errors):
            raise serializers.ValidationError(errors)
        return value


class DatasetCreateSerializer(serializers.Serializer):
    name = StrictCharField(min_length=1, max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=10000, default="")
    artifact_types = ArtifactTypeListField()


class DatasetUpdateSerializer(serializers.Serializer):
    name = StrictCharField(required=False, min_length=1, max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=10000)
    artifact_types = ArtifactTypeListField(
        required=False,
        help_text="The full list of types: new names are added, missing ones removed (409 if annotations use them).",
    )


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
