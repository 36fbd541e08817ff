"""OpenAPI documentation of the training job and model endpoints, kept out of the views."""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from relay.api.schema import error_response
from training import serializers as s

JOB_TAGS = ["training"]
MODEL_TAGS = ["models"]

LIST_JOBS = {"summary": "List training jobs", "responses": s.TrainingJobSerializer(many=True), "tags": JOB_TAGS}
CREATE_JOB = {
    "summary": "Start a training job",
    "description": (
        "Trains a detector on a published annotation set, pinning its version. 409 unless the set is "
        "published and every audio file it uses is `ready`; 422 unless the files hold at least 5 minutes "
        "of audio and the set has at least one annotation of each requested type. Poll the job until "
        "`completed` (then `model_id` is set), `failed` or `cancelled`."
    ),
    "request": s.TrainingJobCreateSerializer,
    "responses": {
        201: s.TrainingJobSerializer,
        404: error_response(404, "No such dataset or annotation set for this tenant."),
        409: error_response(409, "The set is a draft, or files are not ready."),
    },
    "examples": [
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
    "tags": JOB_TAGS,
}
GET_JOB = {"summary": "Get a training job", "responses": s.TrainingJobSerializer, "tags": JOB_TAGS}
CANCEL_JOB = {
    "summary": "Cancel a training job",
    "description": "Pending, queued or processing jobs stop at the next batch; a cancelled job never completes.",
    "request": None,
    "responses": {200: s.TrainingJobSerializer, 409: error_response(409, "The job has already finished.")},
    "tags": JOB_TAGS,
}
LIST_MODELS = {"summary": "List models", "responses": s.ModelSerializer(many=True), "tags": MODEL_TAGS}
GET_MODEL = {"summary": "Get a model", "responses": s.ModelSerializer, "tags": MODEL_TAGS}
RENAME_MODEL = {
    "summary": "Rename a model",
    "request": s.ModelUpdateSerializer,
    "responses": s.ModelSerializer,
    "tags": MODEL_TAGS,
}
DELETE_MODEL = {
    "summary": "Delete a model",
    "description": "Deletes the model and its stored artifact. 409 while an unfinished inference job uses it.",
    "responses": {204: None, 409: error_response(409, "An unfinished inference job uses the model.")},
    "tags": MODEL_TAGS,
}


EVALUATION_TAGS = ["models"]
LIST_EVALUATIONS = {
    "summary": "List a model's evaluations",
    "responses": s.EvaluationSerializer(many=True),
    "tags": EVALUATION_TAGS,
}
CREATE_EVALUATION = {
    "summary": "Evaluate a model on annotated files",
    "description": (
        "Runs the model with its calibrated decoding on the files of a published annotation set of its "
        "dataset (or on `audio_file_ids`) and scores the detections against the set, event-based (onset "
        "within 200 ms, offset within max(200 ms, 20%)): per type precision, recall, F1, tp, fp and fn, macro "
        "and micro F1, and the same per file. A job: 202, then poll until `completed`. Files the model was "
        "trained on flatter it; `metrics.trained_on_files` says how many there are."
    ),
    "request": s.EvaluationCreateSerializer,
    "responses": {
        202: s.EvaluationSerializer,
        404: error_response(404, "No such model or annotation set for this tenant."),
        409: error_response(409, "The set is a draft, or files are not ready."),
    },
    "tags": EVALUATION_TAGS,
}
GET_EVALUATION = {"summary": "Get an evaluation", "responses": s.EvaluationSerializer, "tags": EVALUATION_TAGS}

DOWNLOAD_MODEL = {
    "summary": "Download a model",
    "description": (
        "A redirect (302) to a presigned URL of the model's artifact (`<model id>.relay`, valid for "
        "RELAY_DOWNLOAD_URL_EXPIRES seconds; `curl -L` follows it). The artifact runs outside Relay with the "
        "detector library: `python -m detector detect MODEL.relay FILE...` prints the same detections as an "
        "inference job with the calibrated defaults."
    ),
    "responses": {302: OpenApiResponse(description="`Location`: the presigned URL of the artifact.")},
    "tags": MODEL_TAGS,
}
