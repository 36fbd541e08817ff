from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from annotations.models import AnnotationSet
from datasets import selectors as dataset_selectors
from relay.api.schema import error_response
from relay.api.views import TenantAPIView
from training import serializers as s
from training import services
from training.filters import ModelFilter, TrainingJobFilter
from training.models import Model, TrainingJob

JOB_TAGS = ["training"]
MODEL_TAGS = ["models"]


def get_job(tenant, job_id):
    try:
        return TrainingJob.objects.get(tenant=tenant, pk=job_id)
    except TrainingJob.DoesNotExist:
        raise Http404("Training job not found") from None


def get_model(tenant, model_id):
    try:
        return Model.objects.get(tenant=tenant, pk=model_id)
    except Model.DoesNotExist:
        raise Http404("Model not found") from None


class TrainingJobListView(TenantAPIView):
    scope = "training"
    filterset_class = TrainingJobFilter
    queryset = TrainingJob.objects.none()

    def tenant_queryset(self):
        return TrainingJob.objects.filter(tenant=self.tenant)

    @extend_schema(summary="List training jobs", responses=s.TrainingJobSerializer(many=True), tags=JOB_TAGS)
    def get(self, request):
        return self.list_response(s.TrainingJobSerializer)

    @extend_schema(
        summary="Start a training job",
        description=(
            "Trains a detector on a published annotation set, pinning its version. 409 unless the set is "
            "published and every audio file it uses is `ready`; 422 unless the files hold at least 5 minutes "
            "of audio and the set has at least one annotation of each requested type. Poll the job until "
            "`completed` (then `model_id` is set), `failed` or `cancelled`."
        ),
        request=s.TrainingJobCreateSerializer,
        responses={
            201: s.TrainingJobSerializer,
            409: error_response(409, "The set is a draft, or files are not ready."),
        },
        examples=[
            OpenApiExample(
                "train",
                request_only=True,
                value={
                    "dataset_id": "123e4567-e89b-12d3-a456-426614174000",
                    "annotation_set_id": "7c9e6679-7425-40de-944b-e07fc1f90ae7",
                    "name": "podcast glitches v1",
                    "config": {"artifact_types": ["glitch", "dropout"], "epochs": 20},
                },
            )
        ],
        tags=JOB_TAGS,
    )
    def post(self, request):
        data = self.validated(s.TrainingJobCreateSerializer)
        dataset = dataset_selectors.get_dataset(
            tenant=self.tenant, dataset_id=data["dataset_id"], queryset=dataset_selectors.plain_datasets()
        )
        try:
            annotation_set = AnnotationSet.objects.get(dataset=dataset, pk=data["annotation_set_id"])
        except AnnotationSet.DoesNotExist:
            raise Http404("Annotation set not found") from None
        job = services.create_training_job(
            tenant=self.tenant,
            dataset=dataset,
            annotation_set=annotation_set,
            config=data["config"],
            name=data["name"],
            client_reference=data["client_reference"],
        )
        return Response(s.TrainingJobSerializer(job).data, status=status.HTTP_201_CREATED)


class TrainingJobDetailView(TenantAPIView):
    scope = "training"

    @extend_schema(summary="Get a training job", responses=s.TrainingJobSerializer, tags=JOB_TAGS)
    def get(self, request, job_id):
        return Response(s.TrainingJobSerializer(get_job(self.tenant, job_id)).data)


class TrainingJobCancelView(TenantAPIView):
    scope = "training"

    @extend_schema(
        summary="Cancel a training job",
        description="Pending, queued or processing jobs stop at the next batch; a cancelled job never completes.",
        request=None,
        responses={200: s.TrainingJobSerializer, 409: error_response(409, "The job has already finished.")},
        tags=JOB_TAGS,
    )
    def post(self, request, job_id):
        job = services.cancel_training_job(job=get_job(self.tenant, job_id))
        return Response(s.TrainingJobSerializer(job).data)


class ModelListView(TenantAPIView):
    scope = "training"
    filterset_class = ModelFilter
    queryset = Model.objects.none()

    def tenant_queryset(self):
        return Model.objects.filter(tenant=self.tenant)

    @extend_schema(summary="List models", responses=s.ModelSerializer(many=True), tags=MODEL_TAGS)
    def get(self, request):
        return self.list_response(s.ModelSerializer)


class ModelDetailView(TenantAPIView):
    scope = "training"

    @extend_schema(summary="Get a model", responses=s.ModelSerializer, tags=MODEL_TAGS)
    def get(self, request, model_id):
        return Response(s.ModelSerializer(get_model(self.tenant, model_id)).data)

    @extend_schema(
        summary="Rename a model", request=s.ModelUpdateSerializer, responses=s.ModelSerializer, tags=MODEL_TAGS
    )
    def patch(self, request, model_id):
        model = get_model(self.tenant, model_id)
        data = self.validated(s.ModelUpdateSerializer)
        return Response(s.ModelSerializer(services.rename_model(model=model, **data)).data)

    @extend_schema(
        summary="Delete a model",
        description="Deletes the model and its stored artifact. 409 while an unfinished inference job uses it.",
        responses={204: None, 409: error_response(409, "An unfinished inference job uses the model.")},
        tags=MODEL_TAGS,
    )
    def delete(self, request, model_id):
        services.delete_model(model=get_model(self.tenant, model_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
