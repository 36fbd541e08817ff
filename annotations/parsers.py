from django.conf import settings
from rest_framework.parsers import BaseParser

from relay.api.parsers import PayloadTooLarge


class RawBodyParser(BaseParser):
    """Any body, as bytes: imports are files whose format the `format` parameter names."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.RELAY_MAX_IMPORT_BYTES
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise PayloadTooLarge(f"Import body is larger than the limit of {limit} bytes")
        return body
