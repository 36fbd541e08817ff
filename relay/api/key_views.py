"""API keys of the caller's tenant (scope `admin`)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from relay import selectors, services
from relay.api import docs
from relay.api.fields import Input, StrictCharField
from relay.api.views import TenantAPIView
from relay.models import ALL_SCOPES, ApiKey


class ApiKeySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.SerializerMethodField(help_text="The public start of the key, `rk_<prefix>_`.")
    scopes = serializers.ListField(child=serializers.CharField())
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)

    def get_prefix(self, api_key) -> str:
        return f"rk_{api_key.prefix}_"


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The secret key. Shown only in this response.")


class ApiKeyCreateSerializer(Input):
    name = StrictCharField(required=False, allow_blank=True, max_length=200, default="")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_SCOPES),
        required=False,
        allow_empty=False,
        min_length=1,
        help_text="Default: the scopes of the key that creates it.",
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_expires_at(self, value):
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("expires_at must be in the future", code="value_error.past")
        return value


class ApiKeyListView(TenantAPIView):
    scope = "admin"
    answers_with_secret = True
    queryset = ApiKey.objects.none()

    def tenant_queryset(self):
        return selectors.api_keys_of(tenant=self.tenant)

    @extend_schema(responses=ApiKeySerializer(many=True), **docs.LIST_API_KEYS)
    def get(self, request):
        return self.list_response(ApiKeySerializer)

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer}, **docs.CREATE_API_KEY)
    def post(self, request):
        data = dict(self.validated(ApiKeyCreateSerializer))
        data.setdefault("scopes", list(request.auth.scopes))
        api_key, raw_key = services.create_api_key(tenant=self.tenant, granted_by=request.auth, **data)
        api_key.key = raw_key
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(TenantAPIView):
    scope = "admin"

    @extend_schema(responses=ApiKeySerializer, **docs.GET_API_KEY)
    def get(self, request, key_id):
        return Response(ApiKeySerializer(selectors.get_api_key(tenant=self.tenant, key_id=key_id)).data)


class ApiKeyRevokeView(TenantAPIView):
    scope = "admin"

    @extend_schema(request=None, responses=ApiKeySerializer, **docs.REVOKE_API_KEY)
    def post(self, request, key_id):
        api_key = selectors.get_api_key(tenant=self.tenant, key_id=key_id)
        services.revoke_api_keys(tenant=self.tenant, keys=[api_key])
        api_key.refresh_from_db()
        return Response(ApiKeySerializer(api_key).data)
