"""OpenAPI documentation of the inference endpoints, kept out of the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from inference import results
from inference import serializers as s
from relay.api.schema import error_response

TAGS = ["inference"]


LIST_JOBS = {"summary": "List inference jobs", "responses": s.InferenceJobSerializer(many=True), "tags": TAGS}
CREATE_JOB = {
    "summary": "Start an inference job",
    "description": "Creates the job in `pending`. Add files with files/upload-url and files/confirm, or give "
    "`audio_file_ids` of dataset audio (then the files are queued at once). Omit `config` to use the "
    "thresholds, merge windows and minimum durations calibrated for each type with the model.",
    "request": s.InferenceJobCreateSerializer,
    "responses": {201: s.InferenceJobSerializer, 404: error_response(404, "No such model for this tenant.")},
    "examples": [
        OpenApiExample(
            "calibrated defaults", request_only=True, value={"model_id": "123e4567-e89b-12d3-a456-426614174000"}
        ),
        OpenApiExample(
            "one threshold for every type",
            request_only=True,
            value={"model_id": "123e4567-e89b-12d3-a456-426614174000", "config": {"threshold": 0.6}},
        ),
    ],
    "tags": TAGS,
}
BATCH = {
    "summary": "Start several inference jobs",
    "description": "Each item is a create body. The answer lists, in request order, `{id}` for each job created "
    "and `{status_code, detail}` for each refused; one refusal does not stop the others.",
    "request": s.BatchRequestSerializer,
    "responses": {200: s.BatchResultSerializer},
    "tags": TAGS,
}
GET_JOB = {
    "summary": "Get an inference job with its files and detections",
    "responses": s.InferenceJobDetailSerializer,
    "tags": TAGS,
}
CANCEL_JOB = {
    "summary": "Cancel an inference job",
    "description": "Files not yet started are failed; a file being processed finishes. Pending or processing "
    "jobs only; else 409.",
    "request": None,
    "responses": {200: s.InferenceJobSerializer, 409: error_response(409, "The job has finished.")},
    "tags": TAGS,
}
UPLOAD_URL = {
    "summary": "Add a file to upload",
    "description": "A presigned POST bound to the key, the Content-Type and exactly `file_size_bytes` (or "
    "`file_size`, the name dataset uploads use); then confirm. 409 if the job has finished or was cancelled.",
    "request": s.FileUploadUrlRequestSerializer,
    "responses": {201: s.FileUploadUrlResponseSerializer, 409: error_response(409, "The job takes no more files.")},
    "tags": TAGS,
}
CONFIRM = {
    "summary": "Confirm an uploaded file",
    "description": "Checks the object is there with the declared size and queues the file. Confirming again "
    "returns the file as it is; 409 if the job has finished or was cancelled.",
    "request": s.FileConfirmSerializer,
    "responses": {202: s.InferenceFileSerializer, 409: error_response(409, "Nothing uploaded, or job finished.")},
    "tags": TAGS,
}
LIST_FILES = {
    "summary": "List an inference job's files",
    "responses": s.InferenceFileSerializer(many=True),
    "tags": TAGS,
}
GET_FILE = {
    "summary": "Get an inference file with its detections",
    "responses": s.InferenceFileSerializer,
    "tags": TAGS,
}
RESULTS = {
    "summary": "Export an inference job's detections",
    "parameters": [
        OpenApiParameter(
            "format",
            str,
            enum=list(results.FORMATS),
            required=False,
            description="json (default), csv, audacity (a zip of one label track per file, or one track with "
            "file_id), label-studio (tasks whose detections are predictions to correct; each task names its "
            "audio file, so the corrected annotations import into a draft set) or label-studio-config (the "
            "labelling config of such a project: the model's types in their colours).",
        ),
        OpenApiParameter("file_id", OpenApiTypes.UUID, required=False, description="audacity: one file's track."),
    ],
    "responses": {
        (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY),
        422: error_response(422, "Unknown format."),
    },
    "tags": TAGS,
}
PLOT = {
    "summary": "Plot a file's detections",
    "description": "A PNG: the waveform and a spectrogram with the detections drawn over them in the artifact "
    "types' colours.",
    "responses": {
        (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
        409: error_response(409, "The file has not been processed."),
    },
    "tags": TAGS,
}
