from django.conf import settings
from rest_framework import exceptions, parsers

from relay.errors import TooLarge
from relay.limits import MAX_JSON_DEPTH, too_deep


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
            raise TooLarge(f"Request body is {length} bytes; the limit is {limit} bytes")
        deep = exceptions.ParseError(f"Malformed JSON: nested deeper than {MAX_JSON_DEPTH} levels")
        try:
            data = super().parse(stream, media_type, parser_context)
        except exceptions.ParseError as error:
            raise exceptions.ParseError(
                f"Malformed JSON: {str(error.detail).removeprefix('JSON parse error - ')}"
            ) from None
        except RecursionError:
            raise deep from None
        if too_deep(data):
            raise deep
        return data


class RawBodyParser(parsers.BaseParser):
    """Any body, as bytes (at most RELAY_MAX_IMPORT_BYTES): an uploaded file whose format a
    query parameter names."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.RELAY_MAX_IMPORT_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise TooLarge(f"Import body is larger than the limit of {limit} bytes")
        return body
