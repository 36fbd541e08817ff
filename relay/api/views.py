"""Shared plumbing for the tenant-scoped API views."""

from django.http import JsonResponse
from django.views import defaults
from rest_framework.generics import GenericAPIView

from relay.api import idempotency, throttling
from relay.api.exceptions import INTERNAL_ERROR


class TenantAPIView(GenericAPIView):
    """A view whose every query is filtered by the caller's tenant (the key decides it).

    POSTs honour `Idempotency-Key` (relay/api/idempotency.py)."""

    _idempotency = None
    # An answer of this view holds a secret: never stored, never replayed.
    answers_with_secret = False

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.load_path_objects()
        if request.method == "POST":
            self._idempotency = idempotency.begin(request, self.tenant)

    def load_path_objects(self):
        """Find the objects the URL names (a 404 before the body is even read); views under a
        parent object override this."""

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response()
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = throttling.limit_headers(request, super().finalize_response(request, response, *args, **kwargs))
        if self._idempotency is not None:
            idempotency.finish(self._idempotency, response, secret=self.answers_with_secret)
            self._idempotency = None
        return response

    @property
    def tenant(self):
        return self.request.user.tenant

    def get_queryset(self):
        # Schema generation runs without a request: `queryset` (a `.none()`) names the model.
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.tenant_queryset()

    def tenant_queryset(self):
        raise NotImplementedError

    def list_response(self, serializer_class):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(
            serializer_class(page, many=True, context=self.get_serializer_context()).data
        )

    def validated(self, serializer_class, data=None, **kwargs):
        serializer = serializer_class(data=self.request.data if data is None else data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def not_found(request, exception=None):
    """Django's 404 for unknown URLs; JSON on the API."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": f"Not found: {request.method} {request.path}"}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": INTERNAL_ERROR}, status=500)
    return defaults.server_error(request)
