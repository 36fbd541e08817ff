from django.conf import settings
from rest_framework import exceptions, parsers, status


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body too large"
    default_code = "payload_too_large"


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with a size limit and a plain-spoken parse error."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        limit = settings.RELAY_MAX_JSON_BODY_BYTES
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request is not None else 0
        except ValueError:
            length = 0
        if length > limit:
            raise PayloadTooLarge(f"Request body is {length} bytes; the limit is {limit} bytes")
        try:
            return super().parse(stream, media_type, parser_context)
        except exceptions.ParseError as error:
            raise exceptions.ParseError(
                f"Malformed JSON: {str(error.detail).removeprefix('JSON parse error - ')}"
            ) from None
