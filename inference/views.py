from django.conf import settings
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from inference import results, services
from inference import serializers as s
from inference.filters import InferenceFileFilter, InferenceJobFilter
from inference.models import Detection, FileStatus, InferenceFile, InferenceJob
from relay.api.exceptions import error_items, query_error
from relay.api.schema import error_response
from relay.api.views import TenantAPIView
from training.models import Model

TAGS = ["inference"]


def get_job(tenant, job_id):
    try:
        return InferenceJob.objects.get(tenant=tenant, pk=job_id)
    except InferenceJob.DoesNotExist:
        raise Http404("Inference job not found") from None


def with_detections(files):
    return files.prefetch_related(Prefetch("detections", queryset=Detection.objects.order_by("start_ms", "id")))


class InferenceJobView(TenantAPIView):
    scope = "inference"

    @property
    def job(self):
        if not hasattr(self, "_job"):
            self._job = get_job(self.tenant, self.kwargs["job_id"])
        return self._job

    def get_file(self, file_id):
        try:
            return with_detections(InferenceFile.objects.filter(job=self.job)).get(pk=file_id)
        except InferenceFile.DoesNotExist:
            raise Http404("Inference file not found") from None


def create_job(tenant, data):
    try:
        model = Model.objects.get(tenant=tenant, pk=data["model_id"])
    except Model.DoesNotExist:
        raise Http404("Model not found") from None
    config = data.get("config") or s.InferenceConfigSerializer(data={}).run_validation({})
    audio = (
        services.dataset_audio(tenant=tenant, audio_file_ids=data["audio_file_ids"]) if data["audio_file_ids"] else []
    )
    return services.create_job(
        tenant=tenant,
        model=model,
        config=dict(config),
        audio_files=audio,
        client_reference=data["client_reference"],
        expected_files=data.get("expected_files"),
    )


class InferenceJobListView(TenantAPIView):
    scope = "inference"
    filterset_class = InferenceJobFilter
    queryset = InferenceJob.objects.none()

    def tenant_queryset(self):
        return InferenceJob.objects.filter(tenant=self.tenant)

    @extend_schema(summary="List inference jobs", responses=s.InferenceJobSerializer(many=True), tags=TAGS)
    def get(self, request):
        return self.list_response(s.InferenceJobSerializer)

    @extend_schema(
        summary="Start an inference job",
        description="Creates the job in `pending`. Add files with files/upload-url and files/confirm, or give "
        "`audio_file_ids` of dataset audio (then the files are queued at once).",
        request=s.InferenceJobCreateSerializer,
        responses={201: s.InferenceJobSerializer},
        examples=[
            OpenApiExample(
                "job",
                request_only=True,
                value={
                    "model_id": "123e4567-e89b-12d3-a456-426614174000",
                    "config": {"threshold": 0.5, "merge_window_ms": 200, "min_duration_ms": 0},
                },
            )
        ],
        tags=TAGS,
    )
    def post(self, request):
        job = create_job(self.tenant, self.validated(s.InferenceJobCreateSerializer))
        return Response(s.InferenceJobSerializer(job).data, status=status.HTTP_201_CREATED)


class InferenceJobBatchView(TenantAPIView):
    scope = "inference"

    @extend_schema(
        summary="Start several inference jobs",
        description="Each item is a create body. The answer lists, in request order, `{id}` for each job created "
        "and `{status_code, detail}` for each refused; one refusal does not stop the others.",
        request=s.BatchRequestSerializer,
        responses={200: s.BatchResultSerializer},
        tags=TAGS,
    )
    def post(self, request):
        bodies = self.validated(s.BatchRequestSerializer)["jobs"]
        answers = []
        for index, body in enumerate(bodies):
            try:
                data = self.validated(s.InferenceJobCreateSerializer, data=body)
                answers.append({"id": str(create_job(self.tenant, data).pk)})
            except ValidationError as error:
                answers.append({"status_code": 422, "detail": list(error_items(error.detail, ["body", "jobs", index]))})
            except Http404 as error:
                answers.append({"status_code": 404, "detail": str(error)})
            except APIException as error:
                answers.append({"status_code": error.status_code, "detail": str(error.detail)})
        return Response({"results": answers})


class InferenceJobDetailView(InferenceJobView):
    @extend_schema(
        summary="Get an inference job with its files and detections",
        responses=s.InferenceJobDetailSerializer,
        tags=TAGS,
    )
    def get(self, request, job_id):
        body = s.InferenceJobSerializer(self.job).data
        body["files"] = s.InferenceFileSerializer(with_detections(self.job.files.all()), many=True).data
        return Response(body)


class InferenceJobCancelView(InferenceJobView):
    @extend_schema(
        summary="Cancel an inference job",
        description="Files not yet started are failed; a file being processed finishes. Pending or processing "
        "jobs only; else 409.",
        request=None,
        responses={200: s.InferenceJobSerializer, 409: error_response(409, "The job has finished.")},
        tags=TAGS,
    )
    def post(self, request, job_id):
        return Response(s.InferenceJobSerializer(services.cancel_job(job=self.job)).data)


class FileUploadUrlView(InferenceJobView):
    @extend_schema(
        summary="Add a file to upload",
        description="A presigned POST bound to the key, the Content-Type and exactly `file_size_bytes`; then "
        "confirm. 409 if the job has finished or was cancelled.",
        request=s.FileUploadUrlRequestSerializer,
        responses={201: s.FileUploadUrlResponseSerializer, 409: error_response(409, "The job takes no more files.")},
        tags=TAGS,
    )
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
            "s3_key": inference_file.s3_key,
            "expires_in": expires_in,
            "expires_at": inference_file.upload_expires_at,
        }
        return Response(s.FileUploadUrlResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class FileConfirmView(InferenceJobView):
    @extend_schema(
        summary="Confirm an uploaded file",
        description="Checks the object is there with the declared size and queues the file. Confirming again "
        "returns the file as it is; 409 if the job has finished or was cancelled.",
        request=s.FileConfirmSerializer,
        responses={202: s.InferenceFileSerializer, 409: error_response(409, "Nothing uploaded, or job finished.")},
        tags=TAGS,
    )
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
        return with_detections(InferenceFile.objects.filter(job=self.job))

    @extend_schema(summary="List an inference job's files", responses=s.InferenceFileSerializer(many=True), tags=TAGS)
    def get(self, request, job_id):
        return self.list_response(s.InferenceFileSerializer)


class FileDetailView(InferenceJobView):
    @extend_schema(summary="Get an inference file with its detections", responses=s.InferenceFileSerializer, tags=TAGS)
    def get(self, request, job_id, file_id):
        return Response(s.InferenceFileSerializer(self.get_file(file_id)).data)


class ResultsView(InferenceJobView):
    @extend_schema(
        summary="Export an inference job's detections",
        parameters=[
            OpenApiParameter(
                "format",
                str,
                enum=list(results.FORMATS),
                required=False,
                description="json (default), csv, or audacity (a zip of one label track per file, or "
                "one track with file_id).",
            ),
            OpenApiParameter("file_id", OpenApiTypes.UUID, required=False, description="audacity: one file's track."),
        ],
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY)},
        tags=TAGS,
    )
    def get(self, request, job_id):
        fmt = request.query_params.get("format", "json")
        if fmt not in results.FORMATS:
            raise query_error("format", f"format must be one of: {', '.join(results.FORMATS)}", "type_error.enum")
        files = with_detections(self.job.files.order_by("created_at", "id"))
        single = request.query_params.get("file_id")
        if single:
            files = files.filter(pk=single)
        exported = results.export(fmt, self.job, list(files), single_file=bool(single))
        response = HttpResponse(exported.body, content_type=exported.content_type)
        response["Content-Disposition"] = f'attachment; filename="relay-inference-{self.job.pk}.{exported.extension}"'
        return response


class FilePlotView(InferenceJobView):
    @extend_schema(
        summary="Plot a file's detections",
        description="A PNG: the waveform and a spectrogram with the detections drawn over them in the artifact "
        "types' colours.",
        responses={
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            409: error_response(409, "The file has not been processed."),
        },
        tags=TAGS,
    )
    def get(self, request, job_id, file_id):
        from inference import plot

        inference_file = self.get_file(file_id)
        if inference_file.status != FileStatus.COMPLETED:
            from relay.api.exceptions import Conflict

            raise Conflict(f"The file is {inference_file.status}: there is nothing to plot yet")
        return HttpResponse(plot.png_for(inference_file), content_type="image/png")
