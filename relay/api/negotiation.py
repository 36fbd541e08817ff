from rest_framework.negotiation import DefaultContentNegotiation


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's, with a shortcut for what nearly every client sends: no Accept header, or
    `*/*`. Both accept anything, so DRF picks the view's first renderer and its media type;
    here without parsing and ordering the header's media types on every request."""

    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            format_suffix is None
            and self.settings.URL_FORMAT_OVERRIDE is None
            and request.META.get("HTTP_ACCEPT", "*/*") == "*/*"
            and renderers
            and "*" not in renderers[0].media_type
            and ";" not in renderers[0].media_type
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
