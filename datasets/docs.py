"""OpenAPI documentation of the datasets and audio endpoints: summaries, descriptions,
examples and the documented error answers, kept out of the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from datasets import serializers as s
from relay.api.schema import error_response

DATASET_TAGS = ["datasets"]
AUDIO_TAGS = ["audio"]

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

LIST_DATASETS = {"summary": "List datasets", "responses": s.DatasetSerializer(many=True), "tags": DATASET_TAGS}
CREATE_DATASET = {
    "summary": "Create a dataset",
    "request": s.DatasetCreateSerializer,
    "responses": {201: s.DatasetSerializer},
    "examples": [
        OpenApiExample(
            "create",
            request_only=True,
            value={"name": "Podcast glitches", "artifact_types": [{"name": "glitch", "color": "#FF0000"}]},
        ),
        OpenApiExample("created", response_only=True, status_codes=["201"], value=DATASET_EXAMPLE),
    ],
    "tags": DATASET_TAGS,
}
GET_DATASET = {"summary": "Get a dataset", "responses": s.DatasetSerializer, "tags": DATASET_TAGS}
UPDATE_DATASET = {
    "summary": "Update a dataset",
    "description": "Change the name or description, or give the full new list of artifact types.",
    "request": s.DatasetUpdateSerializer,
    "responses": {200: s.DatasetSerializer, 409: error_response(409, "An artifact type to remove is in use.")},
    "tags": DATASET_TAGS,
}
DELETE_DATASET = {
    "summary": "Delete a dataset",
    "description": "Deletes the dataset, its audio, annotation sets and stored objects.",
    "responses": {204: None, 409: error_response(409, "The dataset is in use.")},
    "tags": DATASET_TAGS,
}

REPLACES_FAILED = (
    "**A re-upload replaces a failed file**: an audio file of the dataset with the same `filename` "
    "that is `failed` (and that no annotation uses) is deleted in the same transaction, its stored "
    "objects once that commits; `replaced_audio_ids` names it. Files in any other status are kept, so "
    "two files may share a name; imports by filename then take the `ready` one."
)

UPLOAD_URL = {
    "summary": "Start an upload (presigned POST)",
    "description": (
        "Creates the audio file in `pending` and returns a presigned POST bound to its key, "
        "its Content-Type and exactly `file_size` bytes. POST `fields` and then `file` as "
        "multipart/form-data to `upload_url` (S3 answers 204), then confirm. The size may "
        "also be sent as `file_size_bytes`, the name inference uploads use.\n\n" + REPLACES_FAILED
    ),
    "request": s.UploadUrlRequestSerializer,
    "responses": {201: s.UploadUrlResponseSerializer},
    "examples": [
        OpenApiExample(
            "wav",
            request_only=True,
            value={"filename": "episode-01.wav", "content_type": "audio/wav", "file_size": 1048576},
        ),
    ],
    "tags": AUDIO_TAGS,
}
CONFIRM = {
    "summary": "Confirm an upload",
    "description": (
        "Checks that the object is in storage with the declared size, then queues decoding: "
        "`normalizing -> embedding -> ready` (or `failed` with `error_message`). Confirming "
        "again returns the same answer. The file is decoded as what its bytes are: a readable file "
        "of another accepted format than declared (a FLAC sent as `audio/wav`) becomes `ready`, and "
        "its `content_type` is then the detected one."
    ),
    "request": s.ConfirmRequestSerializer,
    "responses": {
        202: s.ConfirmResponseSerializer,
        409: error_response(409, "Nothing uploaded yet, or a multipart upload is still open."),
        422: error_response(422, "The stored object does not have the declared size or type."),
    },
    "tags": AUDIO_TAGS,
}
UPLOAD_URLS = {
    "summary": "Start many uploads (presigned POSTs)",
    "description": (
        "The batch form of `upload-url`: 1 to 100 files in one call, each `{filename, content_type, "
        "file_size}`; answers one ticket per file, in the same order, each as `upload-url` answers. "
        "All or nothing: a problem with any file is a 422 located at `body.files.<index>` and no "
        "file is created."
    ),
    "request": s.UploadUrlsRequestSerializer,
    "responses": {201: s.UploadUrlsResponseSerializer},
    "examples": [
        OpenApiExample(
            "two wavs",
            request_only=True,
            value={
                "files": [
                    {"filename": "a.wav", "content_type": "audio/wav", "file_size": 16044},
                    {"filename": "b.wav", "content_type": "audio/wav", "file_size": 16044},
                ]
            },
        ),
    ],
    "tags": AUDIO_TAGS,
}
CONFIRM_BATCH = {
    "summary": "Confirm many uploads",
    "description": (
        "The batch form of `confirm`: 1 to 100 distinct `audio_ids`. The body is validated as a whole "
        "(a 422 if it is not a list of distinct ids), then each file is confirmed on its own: every "
        "item of `results` (in the order asked) is either `ok` with the file's `status` and `message`, "
        "or carries the `error` the single confirm would have answered (404 for an id that is not a "
        "file of this dataset, another tenant's included; 409 when nothing was uploaded yet; 422 "
        "when the stored object has the wrong size or type). One file's error does not undo the others."
    ),
    "request": s.ConfirmBatchRequestSerializer,
    "responses": {202: s.ConfirmBatchResponseSerializer},
    "tags": AUDIO_TAGS,
}
LIST_AUDIO = {
    "summary": "List a dataset's audio files",
    "description": (
        "`download_url` and `download_expires_at` are null in the list unless asked for with "
        "`?include=download_url` (each URL is a signature); the detail always has a fresh one."
    ),
    "parameters": [
        OpenApiParameter(
            "include",
            OpenApiTypes.STR,
            enum=["download_url"],
            description="Optional parts of each item: `download_url` presigns a download URL per row.",
        )
    ],
    "responses": s.AudioFileSerializer(many=True),
    "tags": AUDIO_TAGS,
}
GET_AUDIO = {"summary": "Get an audio file", "responses": s.AudioFileSerializer, "tags": AUDIO_TAGS}
DELETE_AUDIO = {
    "summary": "Delete an audio file",
    "description": "Deletes the file and its stored objects. 409 while a published annotation set refers to it.",
    "responses": {204: None, 409: error_response(409, "A published annotation set refers to the file.")},
    "tags": AUDIO_TAGS,
}
START_MULTIPART = {
    "summary": "Start a multipart upload",
    "description": (
        "For large files: returns one presigned PUT URL per part. PUT each part, keep each "
        "answer's ETag, then complete with the list of `{part_number, etag}`, then confirm.\n\n" + REPLACES_FAILED
    ),
    "request": s.MultipartRequestSerializer,
    "responses": {201: s.MultipartResponseSerializer},
    "tags": AUDIO_TAGS,
}
COMPLETE_MULTIPART = {
    "summary": "Complete a multipart upload",
    "request": s.MultipartCompleteSerializer,
    "responses": {
        200: s.AudioFileSerializer,
        409: error_response(409, "No multipart upload in progress for this file."),
        422: error_response(422, "Parts missing or refused by S3, or the result has the wrong size."),
    },
    "tags": AUDIO_TAGS,
}
ABORT_MULTIPART = {
    "summary": "Abort a multipart upload",
    "description": "Discards the uploaded parts; the file ends `failed`.",
    "request": s.AudioIdSerializer,
    "responses": {200: s.AudioFileSerializer, 409: error_response(409, "No multipart upload in progress.")},
    "tags": AUDIO_TAGS,
}
