"""OpenAPI documentation of the annotation endpoints, kept out of the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from annotations import formats, services
from annotations import serializers as s
from relay.api.schema import error_response

TAGS = ["annotations"]
DETAIL_MAX_ANNOTATIONS = 10_000
LOCKED = error_response(409, "The set is published: nothing in it can change.")

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    str,
    enum=list(formats.FORMATS),
    required=True,
    description="json, jsonl, csv, audacity (label tracks; a zip of one .txt per audio file, or one track with "
    "audio_file_id), label-studio (tasks JSON) or edge-impulse (structured labels JSON).",
)
AUDIO_PARAMETER = OpenApiParameter(
    "audio_file_id",
    OpenApiTypes.UUID,
    required=False,
    description="audacity only: one label track, of this audio file.",
)

MODE_PARAMETER = OpenApiParameter(
    "mode",
    str,
    enum=list(services.IMPORT_MODES),
    required=False,
    description="append (default): add the file's rows to the draft, leaving out those that duplicate an "
    "annotation already in it (same file, type, start_ms and end_ms; counted in `duplicates_skipped`). "
    "replace: delete the draft's annotations first, in the same transaction (counted in `replaced`).",
)

LIST_SETS = {"summary": "List annotation sets", "responses": s.AnnotationSetSerializer(many=True), "tags": TAGS}
CREATE_SET = {
    "summary": "Create a draft annotation set",
    "description": "The new draft gets version 1 + the dataset's highest. `from_version` copies that set's "
    "annotations into it (to edit a published set, make a draft from it). `from_inference_job` fills it "
    "with that job's detections on this dataset's audio (at least `min_confidence`, 0.5 by default): "
    "correct them, publish, retrain. 404 if the job is not yours.",
    "request": s.AnnotationSetCreateSerializer,
    "responses": {201: s.AnnotationSetSerializer},
    "examples": [
        OpenApiExample("copy v1", request_only=True, value={"from_version": 1}),
        OpenApiExample(
            "review detections",
            request_only=True,
            value={"from_inference_job": "123e4567-e89b-12d3-a456-426614174000", "min_confidence": 0.5},
        ),
    ],
    "tags": TAGS,
}
GET_SET = {
    "summary": "Get an annotation set with its annotations",
    "description": f"Lists up to {DETAIL_MAX_ANNOTATIONS} annotations; `annotations_truncated` says when there "
    "are more (page through .../annotations).",
    "responses": s.AnnotationSetDetailSerializer,
    "tags": TAGS,
}
DELETE_SET = {"summary": "Delete a draft annotation set", "responses": {204: None, 409: LOCKED}, "tags": TAGS}
PUBLISH = {
    "summary": "Publish an annotation set",
    "description": "Computes and stores the stats and locks the set: from then on every write to it or its "
    "annotations is 409. Publishing twice, or an empty set, is 409.",
    "request": None,
    "responses": {200: s.AnnotationSetSerializer, 409: error_response(409, "Already published, or empty.")},
    "tags": TAGS,
}
LIST_ANNOTATIONS = {"summary": "List annotations", "responses": s.AnnotationSerializer(many=True), "tags": TAGS}
CREATE_ANNOTATION = {
    "summary": "Add an annotation",
    "request": s.AnnotationCreateSerializer,
    "responses": {201: s.AnnotationSerializer, 409: LOCKED},
    "examples": [
        OpenApiExample(
            "glitch",
            request_only=True,
            value={
                "audio_file_id": "123e4567-e89b-12d3-a456-426614174000",
                "artifact_type": "glitch",
                "start_ms": 1200,
                "end_ms": 1240,
            },
        )
    ],
    "tags": TAGS,
}
BULK_CREATE = {
    "summary": f"Add up to {services.MAX_BULK:,} annotations at once",
    "description": "All or nothing: one bad item rejects the call with a 422 naming every bad item "
    '(`loc` ["body", "annotations", <index>, <field>]); the inserts are one query.',
    "request": s.BulkCreateSerializer,
    "responses": {201: s.BulkCreatedSerializer, 409: LOCKED},
    "tags": TAGS,
}
GET_ANNOTATION = {"summary": "Get an annotation", "responses": s.AnnotationSerializer, "tags": TAGS}
UPDATE_ANNOTATION = {
    "summary": "Change an annotation (drafts only)",
    "request": s.AnnotationUpdateSerializer,
    "responses": {200: s.AnnotationSerializer, 409: LOCKED},
    "tags": TAGS,
}
DELETE_ANNOTATION = {
    "summary": "Delete an annotation (drafts only)",
    "responses": {204: None, 409: LOCKED},
    "tags": TAGS,
}
EXPORT = {
    "summary": "Export an annotation set",
    "description": "Drafts and published sets. Times are milliseconds, or seconds with 6 decimals in the formats "
    "that use seconds, so a round trip through export and import is exact to the millisecond.",
    "parameters": [FORMAT_PARAMETER, AUDIO_PARAMETER],
    "responses": {
        (200, "application/octet-stream"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The file, as an attachment."
        )
    },
    "tags": TAGS,
}
IMPORT = {
    "summary": "Import annotations into a draft",
    "description": "The body is the file, in the `format` given (any Content-Type: `text/csv` for csv, "
    "`application/json` for json, label-studio and edge-impulse, `text/plain` for jsonl and audacity, "
    "`application/zip` for an audacity zip). Items name their audio by `audio_file_id` or by `filename` (of "
    "several files with that name, the `ready` one). `mode=append` (default) skips rows that duplicate the "
    "draft's annotations, so importing the labels of the set a draft was copied from adds nothing twice; "
    "`mode=replace` swaps the draft's annotations for the file's. All or nothing, like bulk create; 409 on a "
    "published set.",
    "parameters": [FORMAT_PARAMETER, AUDIO_PARAMETER, MODE_PARAMETER],
    "request": {"application/octet-stream": OpenApiTypes.BINARY},
    "responses": {201: s.ImportResultSerializer, 409: LOCKED},
    "tags": TAGS,
}
