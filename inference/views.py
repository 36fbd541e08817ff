from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from inference import docs, results, selectors, services
from inference import serializers as s
from inference.filters import InferenceFileFilter, InferenceJobFilter
from inference.models import FileStatus, InferenceFile, InferenceJob
from relay import storage
from relay.api.event_views import JobEventStreamView, job_stream_schema
from relay.api.exceptions import as_api_exception, problems_of
from relay.api.views import TenantAPIView
from relay.errors import Conflict, DomainError, InvalidInput
from training import selectors as training_selectors


class InferenceJobView(TenantAPIView):
    scope = "inference"

    def load_path_objects(self):
        self.job  # noqa: B018

    @property
    def job(self):
        if not hasattr(self, "_job"):
            self._job = selectors.get_job(tenant=self.tenant, job_id=self.kwargs["job_id"])
        return self._job

    def get_file(self, file_id):
        return selectors.get_file(job=self.job, file_id=file_id)


def create_job(tenant, data):
    model = training_selectors.get_model(tenant=tenant, model_id=data["model_id"])
    config = data.get("config") or s.InferenceConfigSerializer(data={}).run_validation({})
    audio_ids = data["audio_file_ids"]
    return services.create_job(
        tenant=tenant,
        model=model,
        config=dict(config),
        audio_files=services.dataset_audio(tenant=tenant, audio_file_ids=audio_ids) if audio_ids else [],
        client_reference=data["client_reference"],
        expected_files=data.get("expected_files"),
    )


class InferenceJobListView(TenantAPIView):
    scope = "inference"
    rate_class = "jobs"
    filterset_class = InferenceJobFilter
    queryset = InferenceJob.objects.none()

    def tenant_queryset(self):
        return selectors.jobs_for(tenant=self.tenant)

    @extend_schema(**docs.LIST_JOBS)
    def get(self, request):
        return self.list_response(s.InferenceJobSerializer)

    @extend_schema(**docs.CREATE_JOB)
    def post(self, request):
        job = create_job(self.tenant, self.validated(s.InferenceJobCreateSerializer))
        return Response(s.InferenceJobSerializer(job).data, status=status.HTTP_201_CREATED)


class InferenceJobBatchView(TenantAPIView):
    scope = "inference"
    rate_class = "jobs"

    @extend_schema(**docs.BATCH)
    def post(self, request):
        bodies = self.validated(s.BatchRequestSerializer)["jobs"]
        answers = []
        for index, body in enumerate(bodies):
            try:
                data = self.validated(s.InferenceJobCreateSerializer, data=body)
                answers.append({"id": str(create_job(self.tenant, data).pk)})
            except (ValidationError, InvalidInput) as error:
                items = [{**p, "loc": ["body", "jobs", index, *p["loc"][1:]]} for p in problems_of(error)]
                answers.append({"status_code": 422, "detail": items})
            except DomainError as error:
                answers.append({"status_code": as_api_exception(error).status_code, "detail": error.message})
        return Response({"results": answers})


class InferenceJobDetailView(InferenceJobView):
    @extend_schema(**docs.GET_JOB)
    def get(self, request, job_id):
        body = s.InferenceJobSerializer(self.job).data
        body["files"] = s.InferenceFileSerializer(selectors.files_of(job=self.job), many=True).data
        return Response(body)


class InferenceJobEventsView(JobEventStreamView):
    scope = "inference"
    job_model = InferenceJob

    def get_job(self, job_id):
        return selectors.get_job(tenant=self.tenant, job_id=job_id)

    @job_stream_schema("inference job")
    def get(self, request, job_id):
        return self.stream(request, job_id)


class InferenceJobCancelView(InferenceJobView):
    @extend_schema(**docs.CANCEL_JOB)
    def post(self, request, job_id):
        return Response(s.InferenceJobSerializer(services.cancel_job(job=self.job)).data)


class FileUploadUrlView(InferenceJobView):
    rate_class = "upload"

    @extend_schema(**docs.UPLOAD_URL)
    def post(self, request, job_id):
        data = self.validated(s.FileUploadUrlRequestSerializer)
        expires_in = data.get("expires_in") or settings.RELAY_UPLOAD_URL_EXPIRES
        inference_file, url, fields = services.add_upload(
            job=self.job,
            filename=data["filename"],
            content_type=data["content_type"],
            file_size=data["file_size_bytes"],
            expires_in=expires_in,
        )
        body = {
            "file_id": inference_file.pk,
            "upload_url": url,
            "upload_fields": fields,
            "s3_key": inference_file.storage_key,
            "expires_in": expires_in,
            "expires_at": inference_file.upload_expires_at,
        }
        return Response(s.FileUploadUrlResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class FileConfirmView(InferenceJobView):
    @extend_schema(**docs.CONFIRM)
    def post(self, request, job_id):
        file_id = self.validated(s.FileConfirmSerializer)["file_id"]
        inference_file = services.confirm_upload(job=self.job, inference_file=self.get_file(file_id))
        return Response(
            s.InferenceFileSerializer(self.get_file(inference_file.pk)).data, status=status.HTTP_202_ACCEPTED
        )


class FileListView(InferenceJobView):
    filterset_class = InferenceFileFilter
    queryset = InferenceFile.objects.none()

    def tenant_queryset(self):
        return selectors.files_of(job=self.job)

    @extend_schema(**docs.LIST_FILES)
    def get(self, request, job_id):
        return self.list_response(s.InferenceFileSerializer)


class FileDetailView(InferenceJobView):
    @extend_schema(**docs.GET_FILE)
    def get(self, request, job_id, file_id):
        return Response(s.InferenceFileSerializer(self.get_file(file_id)).data)


class ResultsView(InferenceJobView):
    @extend_schema(**docs.RESULTS)
    def get(self, request, job_id):
        fmt = request.query_params.get("format", "json")
        if fmt not in results.FORMATS:
            raise InvalidInput.at(
                ["query", "format"], f"format must be one of: {', '.join(results.FORMATS)}", "type_error.enum"
            )
        files = selectors.files_of(job=self.job).order_by("created_at", "id")
        single = request.query_params.get("file_id")
        if single:
            files = files.filter(pk=single)
        exported = results.export(fmt, self.job, list(files), single_file=bool(single), url_of=download_url)
        response = HttpResponse(exported.body, content_type=exported.content_type)
        response["Content-Disposition"] = f'attachment; filename="relay-inference-{self.job.pk}.{exported.extension}"'
        return response


def download_url(inference_file):
    return storage.presigned_get(inference_file.storage_key, expires_in=settings.RELAY_DOWNLOAD_URL_EXPIRES)


class FilePlotView(InferenceJobView):
    @extend_schema(**docs.PLOT)
    def get(self, request, job_id, file_id):
        from inference import plot  # matplotlib: loaded on the first plot, not in every web process

        inference_file = self.get_file(file_id)
        if inference_file.status == FileStatus.FAILED:
            raise Conflict(f"The file failed: {inference_file.error_message or 'no reason recorded'}; nothing to plot")
        if inference_file.status != FileStatus.COMPLETED:
            raise Conflict(f"The file is {inference_file.status}: nothing to plot until it is completed")
        return HttpResponse(plot.png_for(inference_file), content_type="image/png")
