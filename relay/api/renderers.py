"""JSON out of the API, rendered by orjson: the same text DRF's JSONRenderer makes (compact,
UTF-8, datetimes in UTC ending in `Z`), several times faster on the large list pages."""

import orjson
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder

_default = JSONEncoder().default  # Decimal, lazy strings, sets, querysets... as DRF renders them


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        option = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
        if self.get_indent(accepted_media_type, renderer_context or {}):  # Accept: application/json; indent=2
            option |= orjson.OPT_INDENT_2
        try:
            return orjson.dumps(data, default=_default, option=option)
        except orjson.JSONEncodeError:  # what orjson cannot write (integers beyond 64 bits): the stdlib can
            return super().render(data, accepted_media_type, renderer_context)
