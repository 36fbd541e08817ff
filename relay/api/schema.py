"""OpenAPI generation: the API-key scheme, the error envelope on every operation, scopes."""

import re

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerFieldExtension
from drf_spectacular.utils import OpenApiResponse, extend_schema_field
from rest_framework import serializers

from relay.api.permissions import HasScope, required_scope


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="What went wrong, in words.")


@extend_schema_field({"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}})
class LocField(serializers.ListField):
    pass


class ValidationErrorItemSerializer(serializers.Serializer):
    loc = LocField(help_text='Where: "body", "query" or "path", then field names and list indexes.')
    msg = serializers.CharField()
    type = serializers.CharField()


class ValidationErrorSerializer(serializers.Serializer):
    detail = ValidationErrorItemSerializer(many=True)


_ERRORS = {
    400: (ErrorSerializer, "Malformed JSON body."),
    401: (ErrorSerializer, "Missing, invalid, expired or revoked API key."),
    403: (ErrorSerializer, "The API key lacks the scope this operation needs."),
    404: (ErrorSerializer, "No such object for this tenant (another tenant's objects are 404 too)."),
    409: (ErrorSerializer, "The object's state does not allow this change."),
    429: (ErrorSerializer, "Rate limit reached: retry after `Retry-After` seconds (see the X-RateLimit-* headers)."),
    413: (ErrorSerializer, "Request body too large."),
    415: (ErrorSerializer, "Content-Type is not application/json (the message names what to send)."),
    422: (ValidationErrorSerializer, "Validation failed: one item per problem, located by `loc`."),
    503: (ErrorSerializer, "The database, broker or object storage is unreachable; retry later."),
}


def error_response(code, description=None):
    serializer, default = _ERRORS[code]
    return OpenApiResponse(serializer, description=description or default)


class AutoSchema(openapi.AutoSchema):
    """Adds the error responses every operation can give, and the scope it needs."""

    def _requires_key(self):
        return any(isinstance(permission, HasScope) for permission in self.view.get_permissions())

    def _error_codes(self):
        codes = []
        if self._requires_key():
            codes += [401, 429, 503]
            if required_scope(self.view, self.method) is not None:
                codes.append(403)
        if "{" in self.path:
            codes.append(404)
        if self.method in ("POST", "PUT", "PATCH"):
            codes += [400, 413, 415, 422]
        if self.method == "POST" and self._requires_key():
            codes.append(409)  # an Idempotency-Key whose first request still runs
        if self._get_filter_parameters() or self._get_pagination_parameters() or self._query_parameters():
            codes.append(422)
        return sorted(set(codes))

    def _query_parameters(self):
        return [p for p in self.get_override_parameters() if getattr(p, "location", "query") == "query"]

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(error_response(code), str(code))
        return responses

    def get_description(self):
        description = super().get_description() or ""
        if self._requires_key():
            scope = required_scope(self.view, self.method)
            needs = f"Needs an API key with the `{scope}` scope" if scope else "Needs any valid API key"
            if scope and scope.endswith(":read"):
                needs += f" (or `{scope.replace(':read', ':write')}`)"
            description = f"{description}\n\n{needs}.".strip()
        return description


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "relay.api.authentication.ApiKeyAuthentication"
    name = ["ApiKeyAuth", "BearerAuth"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKeyAuth": []}, {"BearerAuth": []}]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": "An API key, `rk_<prefix>_<secret>`, from `manage.py create_tenant` or POST /api-keys.",
            },
            {"type": "http", "scheme": "bearer", "description": "The same API key as a bearer token."},
        ]


NO_NUL = "^[^\\u0000]*$"  # PostgreSQL stores no NUL character: such text is a 422


def request_bodies_allow_no_other_fields(result, generator, request, public):
    """Say in the schema what every request body (an `Input`) enforces: no unknown fields
    (`additionalProperties: false` on each *Request component); and no NUL in any text,
    in bodies and query parameters."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if not name.endswith("Request"):
            continue
        if component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
        _no_nul_in_text(component)
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    _ordering_as_text(parameter)
                    _no_nul_in_text(parameter.get("schema"))
    return result


def _ordering_as_text(parameter):
    """`ordering` is one comma-separated text (`name,-created_at`), which is what clients send
    and the server reads: state its grammar as a pattern rather than as an array."""
    schema = parameter.get("schema") or {}
    if parameter.get("name") != "ordering" or schema.get("type") != "array":
        return
    fields = sorted({value.lstrip("-") for value in schema.get("items", {}).get("enum", [])})
    one = "-?(" + "|".join(re.escape(f) for f in fields) + ")"
    parameter["schema"] = {"type": "string", "pattern": f"^{one}(,{one})*$"}
    parameter.pop("explode", None)
    parameter.pop("style", None)


def _no_nul_in_text(schema):
    if isinstance(schema, list):
        for item in schema:
            _no_nul_in_text(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"format", "enum", "pattern"} & set(schema):
        schema["pattern"] = NO_NUL
    for key in ("properties", "items", "additionalProperties", "allOf", "anyOf", "oneOf"):
        value = schema.get(key)
        if isinstance(value, dict) and key == "properties":
            for child in value.values():
                _no_nul_in_text(child)
        elif value is not None:
            _no_nul_in_text(value)


class UniqueListSchema(OpenApiSerializerFieldExtension):
    target_class = "relay.api.fields.UniqueUUIDListField"

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "uniqueItems": True}
