from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from datasets import selectors, services
from datasets.filters import DatasetFilter
from datasets.models import Dataset
from datasets.serializers import DatasetCreateSerializer, DatasetSerializer, DatasetUpdateSerializer
from relay.api.schema import error_response
from relay.api.views import TenantAPIView

DATASET_EXAMPLE = {
    "id": "123e4567-e89b-12d3-a456-426614174000",
    "tenant_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "name": "Podcast glitches",
    "description": "Episodes 1-40",
    "artifact_types": [
        {"id": "7c9e6679-7425-40de-944b-e07fc1f90ae7", "name": "glitch", "description": "", "color": "#FF0000"}
    ],
    "audio_count": 0,
    "total_duration_ms": 0,
    "created_at": "2026-01-15T10:30:00Z",
    "updated_at": "2026-01-15T10:30:00Z",
}


class DatasetListView(TenantAPIView):
    scope = "datasets"
    filterset_class = DatasetFilter
    queryset = Dataset.objects.none()

    def tenant_queryset(self):
        return selectors.datasets_for(tenant=self.tenant)

    @extend_schema(summary="List datasets", responses=DatasetSerializer(many=True), tags=["datasets"])
    def get(self, request):
        return self.list_response(DatasetSerializer)

    @extend_schema(
        summary="Create a dataset",
        request=DatasetCreateSerializer,
        responses={201: DatasetSerializer},
        examples=[
            OpenApiExample(
                "create",
                request_only=True,
                value={"name": "Podcast glitches", "artifact_types": [{"name": "glitch", "color": "#FF0000"}]},
            ),
            OpenApiExample("created", response_only=True, status_codes=["201"], value=DATASET_EXAMPLE),
        ],
        tags=["datasets"],
    )
    def post(self, request):
        dataset = services.create_dataset(tenant=self.tenant, **self.validated(DatasetCreateSerializer))
        dataset = selectors.get_dataset(tenant=self.tenant, dataset_id=dataset.pk)
        return Response(DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailView(TenantAPIView):
    scope = "datasets"

    def get_object(self):
        return selectors.get_dataset(tenant=self.tenant, dataset_id=self.kwargs["dataset_id"])

    @extend_schema(summary="Get a dataset", responses=DatasetSerializer, tags=["datasets"])
    def get(self, request, dataset_id):
        return Response(DatasetSerializer(self.get_object()).data)

    @extend_schema(
        summary="Update a dataset",
        description="Change the name or description, or give the full new list of artifact types.",
        request=DatasetUpdateSerializer,
        responses={200: DatasetSerializer, 409: error_response(409, "An artifact type to remove is in use.")},
        tags=["datasets"],
    )
    def patch(self, request, dataset_id):
        dataset = self.get_object()
        services.update_dataset(tenant=self.tenant, dataset=dataset, **self.validated(DatasetUpdateSerializer))
        return Response(DatasetSerializer(self.get_object()).data)

    @extend_schema(
        summary="Delete a dataset",
        description="Deletes the dataset, its audio, annotation sets and stored objects.",
        responses={204: None, 409: error_response(409, "The dataset is in use.")},
        tags=["datasets"],
    )
    def delete(self, request, dataset_id):
        services.delete_dataset(tenant=self.tenant, dataset=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class DatasetChildView(TenantAPIView):
    """Views under /datasets/{dataset_id}/...: the dataset is the caller's or a 404."""

    @property
    def dataset(self):
        if not hasattr(self, "_dataset"):
            self._dataset = selectors.get_dataset(
                tenant=self.tenant, dataset_id=self.kwargs["dataset_id"], queryset=selectors.plain_datasets()
            )
        return self._dataset
