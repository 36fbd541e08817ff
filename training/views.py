from django.conf import settings
from django.http import HttpResponseRedirect
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from annotations import selectors as annotation_selectors
from datasets import selectors as dataset_selectors
from relay import storage
from relay.api.event_views import JobEventStreamView, job_stream_schema
from relay.api.views import TenantAPIView
from training import docs, selectors, services
from training import serializers as s
from training.filters import EvaluationFilter, ModelFilter, TrainingJobFilter
from training.models import Evaluation, Model, TrainingJob


class TrainingJobListView(TenantAPIView):
    scope = "training"
    rate_class = "jobs"
    filterset_class = TrainingJobFilter
    queryset = TrainingJob.objects.none()

    def tenant_queryset(self):
        return selectors.jobs_for(tenant=self.tenant)

    @extend_schema(**docs.LIST_JOBS)
    def get(self, request):
        return self.list_response(s.TrainingJobSerializer)

    @extend_schema(**docs.CREATE_JOB)
    def post(self, request):
        data = self.validated(s.TrainingJobCreateSerializer)
        dataset = dataset_selectors.get_dataset(tenant=self.tenant, dataset_id=data["dataset_id"], with_counts=False)
        job = services.create_training_job(
            tenant=self.tenant,
            dataset=dataset,
            annotation_set=annotation_selectors.get_set(dataset=dataset, set_id=data["annotation_set_id"]),
            config=data["config"],
            name=data["name"],
            client_reference=data["client_reference"],
        )
        return Response(s.TrainingJobSerializer(job).data, status=status.HTTP_201_CREATED)


class TrainingJobDetailView(TenantAPIView):
    scope = "training"

    @extend_schema(**docs.GET_JOB)
    def get(self, request, job_id):
        return Response(s.TrainingJobSerializer(selectors.get_job(tenant=self.tenant, job_id=job_id)).data)


class TrainingJobCancelView(TenantAPIView):
    scope = "training"

    @extend_schema(**docs.CANCEL_JOB)
    def post(self, request, job_id):
        job = services.cancel_training_job(job=selectors.get_job(tenant=self.tenant, job_id=job_id))
        return Response(s.TrainingJobSerializer(job).data)


class TrainingJobEventsView(JobEventStreamView):
    scope = "training"
    job_model = TrainingJob

    def get_job(self, job_id):
        return selectors.get_job(tenant=self.tenant, job_id=job_id)

    @job_stream_schema("training job")
    def get(self, request, job_id):
        return self.stream(request, job_id)


class ModelListView(TenantAPIView):
    scope = "training"
    filterset_class = ModelFilter
    queryset = Model.objects.none()

    def tenant_queryset(self):
        return selectors.models_for(tenant=self.tenant)

    @extend_schema(**docs.LIST_MODELS)
    def get(self, request):
        return self.list_response(s.ModelSerializer)


class ModelDetailView(TenantAPIView):
    scope = "training"

    def get_model(self):
        return selectors.get_model(tenant=self.tenant, model_id=self.kwargs["model_id"])

    @extend_schema(**docs.GET_MODEL)
    def get(self, request, model_id):
        return Response(s.ModelSerializer(self.get_model()).data)

    @extend_schema(**docs.RENAME_MODEL)
    def patch(self, request, model_id):
        model = self.get_model()
        data = self.validated(s.ModelUpdateSerializer)
        return Response(s.ModelSerializer(services.rename_model(model=model, **data)).data)

    @extend_schema(**docs.DELETE_MODEL)
    def delete(self, request, model_id):
        services.delete_model(model=self.get_model())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ModelDownloadView(TenantAPIView):
    scope = "training"

    @extend_schema(**docs.DOWNLOAD_MODEL)
    def get(self, request, model_id):
        model = selectors.get_model(tenant=self.tenant, model_id=model_id)
        url = storage.presigned_get(
            model.storage_key, expires_in=settings.RELAY_DOWNLOAD_URL_EXPIRES, filename=f"{model.pk}.relay"
        )
        return HttpResponseRedirect(url)


class EvaluationListView(TenantAPIView):
    scope = "training"
    rate_class = "jobs"
    filterset_class = EvaluationFilter
    queryset = Evaluation.objects.none()

    def load_path_objects(self):
        self.model  # noqa: B018

    @property
    def model(self):
        if not hasattr(self, "_model"):
            self._model = selectors.get_model(tenant=self.tenant, model_id=self.kwargs["model_id"])
        return self._model

    def tenant_queryset(self):
        return selectors.evaluations_of(model=self.model)

    @extend_schema(**docs.LIST_EVALUATIONS)
    def get(self, request, model_id):
        return self.list_response(s.EvaluationSerializer)

    @extend_schema(**docs.CREATE_EVALUATION)
    def post(self, request, model_id):
        data = self.validated(s.EvaluationCreateSerializer)
        model = self.model
        dataset = dataset_selectors.get_dataset(tenant=self.tenant, dataset_id=model.dataset_id, with_counts=False)
        evaluation = services.create_evaluation(
            tenant=self.tenant,
            model=model,
            annotation_set=annotation_selectors.get_set(dataset=dataset, set_id=data["annotation_set_id"]),
            audio_file_ids=data.get("audio_file_ids"),
        )
        return Response(s.EvaluationSerializer(evaluation).data, status=status.HTTP_202_ACCEPTED)


class EvaluationDetailView(TenantAPIView):
    scope = "training"

    @extend_schema(**docs.GET_EVALUATION)
    def get(self, request, model_id, evaluation_id):
        model = selectors.get_model(tenant=self.tenant, model_id=model_id)
        return Response(s.EvaluationSerializer(selectors.get_evaluation(model=model, evaluation_id=evaluation_id)).data)
