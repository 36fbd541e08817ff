"""Request bodies: `Input`, the base of every request serializer (unknown fields are a 422),
and fields that take JSON types as they are (`{"name": 5}` is a 422, not "5")."""

import json

from rest_framework import serializers


class _StrictType:
    type_code = "type_error"
    default_error_messages = {"type": "wrong type"}

    def fail_type(self):
        raise serializers.ValidationError(self.error_messages["type"], code=self.type_code)


class StrictCharField(_StrictType, serializers.CharField):
    """A JSON string, kept as sent: no whitespace is trimmed, so the length limits the
    schema states are the ones applied."""

    type_code = "type_error.str"
    default_error_messages = {"type": "str type expected"}

    def __init__(self, **kwargs):
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail_type()
        return super().to_internal_value(data)


class StrictIntegerField(_StrictType, serializers.IntegerField):
    type_code = "type_error.integer"
    default_error_messages = {"type": "value is not a valid integer"}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail_type()
        if isinstance(data, float) and not data.is_integer():
            self.fail_type()
        return super().to_internal_value(int(data))


class StrictFloatField(_StrictType, serializers.FloatField):
    type_code = "type_error.float"
    default_error_messages = {"type": "value is not a valid number"}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            self.fail_type()
        return super().to_internal_value(data)


class StrictBooleanField(_StrictType, serializers.BooleanField):
    type_code = "type_error.bool"
    default_error_messages = {"type": "value is not a valid boolean"}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail_type()
        return data


class StrictUUIDField(_StrictType, serializers.UUIDField):
    type_code = "type_error.uuid"
    default_error_messages = {"type": "value is not a valid uuid"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail_type()
        return super().to_internal_value(data)


class StrictJSONObjectField(_StrictType, serializers.JSONField):
    """A JSON object of at most `max_bytes` once encoded."""

    type_code = "type_error.dict"
    default_error_messages = {"type": "value is not a valid dict", "too_large": "object larger than {max_bytes} bytes"}

    def __init__(self, *, max_bytes=16384, **kwargs):
        self.max_bytes = max_bytes
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail_type()
        if len(json.dumps(data)) > self.max_bytes:
            self.fail("too_large", max_bytes=self.max_bytes)
        return data


class UniqueUUIDListField(serializers.ListField):
    """A list of ids, each at most once (`uniqueItems` in the schema: relay.api.schema)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("child", StrictUUIDField())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if len(set(value)) != len(value):
            raise serializers.ValidationError("lists an id twice", code="value_error.duplicate")
        return value


class RejectUnknownFieldsMixin:
    """Unknown keys are a 422 (`extra fields not permitted`), not silently dropped."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {
                        key: [serializers.ErrorDetail("extra fields not permitted", code="value_error.extra")]
                        for key in unknown
                    }
                )
        return super().to_internal_value(data)


# The base of every request body: the one input policy of the API. (No docstring: the
# schema would show it as the description of every body.)
class Input(RejectUnknownFieldsMixin, serializers.Serializer):
    pass


def merge_alias(attrs, name, alias, *, required=True):
    """Accept a field under two names (e.g. `file_size` and `file_size_bytes`): the value
    ends under `name`; both with different values, or neither when required, is a 422."""
    if alias in attrs:
        value = attrs.pop(alias)
        if name in attrs and attrs[name] != value:
            raise serializers.ValidationError(
                {
                    alias: [
                        serializers.ErrorDetail(
                            f"differs from {name}; give one of the two", code="value_error.conflict"
                        )
                    ]
                }
            )
        attrs[name] = value
    if required and name not in attrs:
        raise serializers.ValidationError(
            {name: [serializers.ErrorDetail(f"field required (or {alias})", code="value_error.missing")]}
        )
    return attrs
