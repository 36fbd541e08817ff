from rest_framework.metadata import SimpleMetadata


class Metadata(SimpleMetadata):
    """`OPTIONS`: the view's name, description, and what it renders and parses. The body
    shapes are in the OpenAPI schema (/api/schema/); views here build no serializer to
    describe (DRF's default would, and fails on views without one)."""

    def determine_actions(self, request, view):
        return {}
