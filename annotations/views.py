from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ErrorDetail, ParseError
from rest_framework.response import Response

from annotations import formats, selectors, services
from annotations import serializers as s
from annotations.filters import AnnotationFilter, AnnotationSetFilter
from annotations.models import Annotation, AnnotationSet
from annotations.parsers import RawBodyParser
from annotations.validation import DatasetContext, validate_changes, validate_items, validate_one
from datasets.views import DatasetChildView
from relay import storage
from relay.api.exceptions import RequestValidationError, ValidationItems, query_error
from relay.api.schema import error_response

TAGS = ["annotations"]
MAX_BULK = 10_000
DETAIL_MAX_ANNOTATIONS = 10_000
LOCKED = error_response(409, "The set is published: nothing in it can change.")


class AnnotationSetView(DatasetChildView):
    scope = "annotations"

    @property
    def annotation_set(self):
        if not hasattr(self, "_set"):
            self._set = selectors.get_set(dataset=self.dataset, set_id=self.kwargs["set_id"])
        return self._set

    def set_body(self, annotation_set):
        (annotation_set,) = selectors.with_stats([annotation_set])
        return s.AnnotationSetSerializer(annotation_set).data


class AnnotationSetListView(AnnotationSetView):
    filterset_class = AnnotationSetFilter
    queryset = AnnotationSet.objects.none()

    def tenant_queryset(self):
        return selectors.sets_for(dataset=self.dataset)

    @extend_schema(summary="List annotation sets", responses=s.AnnotationSetSerializer(many=True), tags=TAGS)
    def get(self, request, dataset_id):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        data = s.AnnotationSetSerializer(selectors.with_stats(page), many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        summary="Create a draft annotation set",
        description="The new draft gets version 1 + the dataset's highest. `from_version` copies that set's "
        "annotations into it (to edit a published set, make a draft from it).",
        request=s.AnnotationSetCreateSerializer,
        responses={201: s.AnnotationSetSerializer},
        examples=[OpenApiExample("copy v1", request_only=True, value={"from_version": 1})],
        tags=TAGS,
    )
    def post(self, request, dataset_id):
        data = self.validated(s.AnnotationSetCreateSerializer, data=request.data or {})
        annotation_set = services.create_set(dataset=self.dataset, **data)
        return Response(self.set_body(annotation_set), status=status.HTTP_201_CREATED)


class AnnotationSetDetailView(AnnotationSetView):
    @extend_schema(
        summary="Get an annotation set with its annotations",
        description=f"Lists up to {DETAIL_MAX_ANNOTATIONS} annotations; `annotations_truncated` says when there "
        "are more (page through .../annotations).",
        responses=s.AnnotationSetDetailSerializer,
        tags=TAGS,
    )
    def get(self, request, dataset_id, set_id):
        body = self.set_body(self.annotation_set)
        annotations = list(selectors.annotations_of(annotation_set=self.annotation_set)[: DETAIL_MAX_ANNOTATIONS + 1])
        body["annotations_truncated"] = len(annotations) > DETAIL_MAX_ANNOTATIONS
        body["annotations"] = [s.annotation_dict(a) for a in annotations[:DETAIL_MAX_ANNOTATIONS]]
        return Response(body)

    @extend_schema(summary="Delete a draft annotation set", responses={204: None, 409: LOCKED}, tags=TAGS)
    def delete(self, request, dataset_id, set_id):
        services.delete_set(annotation_set=self.annotation_set)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PublishView(AnnotationSetView):
    @extend_schema(
        summary="Publish an annotation set",
        description="Computes and stores the stats and locks the set: from then on every write to it or its "
        "annotations is 409. Publishing twice, or an empty set, is 409.",
        request=None,
        responses={200: s.AnnotationSetSerializer, 409: error_response(409, "Already published, or empty.")},
        tags=TAGS,
    )
    def post(self, request, dataset_id, set_id):
        return Response(s.AnnotationSetSerializer(services.publish(annotation_set=self.annotation_set)).data)


class AnnotationListView(AnnotationSetView):
    filterset_class = AnnotationFilter
    queryset = Annotation.objects.none()

    def tenant_queryset(self):
        return selectors.annotations_of(annotation_set=self.annotation_set)

    @extend_schema(summary="List annotations", responses=s.AnnotationSerializer(many=True), tags=TAGS)
    def get(self, request, dataset_id, set_id):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([s.annotation_dict(a) for a in page])

    @extend_schema(
        summary="Add an annotation",
        request=s.AnnotationCreateSerializer,
        responses={201: s.AnnotationSerializer, 409: LOCKED},
        examples=[
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
        tags=TAGS,
    )
    def post(self, request, dataset_id, set_id):
        self.annotation_set  # 404 before validation  # noqa: B018
        clean = validate_one(request.data, DatasetContext(self.dataset))
        (annotation,) = services.add_annotations(annotation_set=self.annotation_set, items=[clean])
        return Response(s.annotation_dict(annotation), status=status.HTTP_201_CREATED)


class BulkCreateView(AnnotationSetView):
    @extend_schema(
        summary="Add up to 10,000 annotations at once",
        description="All or nothing: one bad item rejects the call with a 422 naming every bad item "
        '(`loc` ["body", "annotations", <index>, <field>]); the inserts are one query.',
        request=s.BulkCreateSerializer,
        responses={201: s.BulkCreatedSerializer, 409: LOCKED},
        tags=TAGS,
    )
    def post(self, request, dataset_id, set_id):
        self.annotation_set  # noqa: B018
        items = request.data.get("annotations") if isinstance(request.data, dict) else None
        if not isinstance(items, list):
            code, msg = (
                ("value_error.missing", "field required")
                if items is None
                else ("type_error.list", "value is not a valid list")
            )
            raise ValidationItems([{"loc": ["body", "annotations"], "msg": msg, "type": code}])
        if len(items) > MAX_BULK:
            raise ValidationItems(
                [
                    {
                        "loc": ["body", "annotations"],
                        "msg": f"at most {MAX_BULK} annotations per call",
                        "type": "value_error.list.max_items",
                    }
                ]
            )
        clean = validate_items(items, DatasetContext(self.dataset))
        created = services.add_annotations(annotation_set=self.annotation_set, items=clean)
        return Response(
            {"created": len(created), "annotations": [s.annotation_dict(a) for a in created]},
            status=status.HTTP_201_CREATED,
        )


class AnnotationDetailView(AnnotationSetView):
    def get_annotation(self):
        return selectors.get_annotation(annotation_set=self.annotation_set, annotation_id=self.kwargs["annotation_id"])

    @extend_schema(summary="Get an annotation", responses=s.AnnotationSerializer, tags=TAGS)
    def get(self, request, dataset_id, set_id, annotation_id):
        return Response(s.annotation_dict(self.get_annotation()))

    @extend_schema(
        summary="Change an annotation (drafts only)",
        request=s.AnnotationUpdateSerializer,
        responses={200: s.AnnotationSerializer, 409: LOCKED},
        tags=TAGS,
    )
    def patch(self, request, dataset_id, set_id, annotation_id):
        annotation = self.get_annotation()
        clean = validate_changes(request.data, annotation, DatasetContext(self.dataset))
        return Response(s.annotation_dict(services.update_annotation(annotation=annotation, clean=clean)))

    @extend_schema(summary="Delete an annotation (drafts only)", responses={204: None, 409: LOCKED}, tags=TAGS)
    def delete(self, request, dataset_id, set_id, annotation_id):
        services.delete_annotation(annotation=self.get_annotation())
        return Response(status=status.HTTP_204_NO_CONTENT)


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


def _format(request):
    fmt = request.query_params.get("format")
    if fmt not in formats.FORMATS:
        raise query_error(
            "format",
            f"format must be one of: {', '.join(formats.FORMATS)}",
            "value_error.missing" if fmt is None else "type_error.enum",
        )
    return fmt


class ExportView(AnnotationSetView):
    @extend_schema(
        summary="Export an annotation set",
        description="Drafts and published sets. Times are milliseconds, or seconds with 6 decimals in the formats "
        "that use seconds, so a round trip through export and import is exact to the millisecond.",
        parameters=[FORMAT_PARAMETER, AUDIO_PARAMETER],
        responses={
            (200, "application/octet-stream"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The file, as an attachment."
            )
        },
        tags=TAGS,
    )
    def get(self, request, dataset_id, set_id):
        fmt = _format(request)
        annotation_set = self.annotation_set
        rows = list(
            Annotation.objects.filter(annotation_set=annotation_set)
            .order_by("audio_file_id", "start_ms", "end_ms", "id")
            .values("id", "audio_file_id", "artifact_type__name", "start_ms", "end_ms", "confidence", "extra_data")
        )
        for row in rows:
            row["id"], row["audio_file_id"] = str(row["id"]), str(row["audio_file_id"])
            row["artifact_type"] = row.pop("artifact_type__name")
        audio = {
            str(a.id): formats.AudioFacts(
                str(a.id),
                a.filename,
                a.duration_ms,
                storage.presigned_get(a.storage_key, expires_in=settings.RELAY_DOWNLOAD_URL_EXPIRES)
                if fmt == "label-studio"
                else None,
            )
            for a in self.dataset.audio_files.filter(pk__in={row["audio_file_id"] for row in rows})
        }
        meta = {
            "dataset_id": str(self.dataset.pk),
            "annotation_set_id": str(annotation_set.pk),
            "version": annotation_set.version,
            "status": annotation_set.status,
        }
        single = request.query_params.get("audio_file_id")
        if fmt == "audacity" and single:
            meta["audio_file_id"] = single
        exported = formats.export(fmt, rows, audio, meta)
        response = HttpResponse(exported.body, content_type=exported.content_type)
        name = f"relay-{self.dataset.pk}-v{annotation_set.version}.{exported.extension}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ImportView(AnnotationSetView):
    parser_classes = [RawBodyParser]

    @extend_schema(
        summary="Import annotations into a draft",
        description="The body is the file, in the `format` given (any Content-Type). Items name their audio by "
        "`audio_file_id` or by `filename`. All or nothing, like bulk create; 409 on a published set.",
        parameters=[FORMAT_PARAMETER, AUDIO_PARAMETER],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={201: s.ImportResultSerializer, 409: LOCKED},
        tags=TAGS,
    )
    def post(self, request, dataset_id, set_id):
        fmt = _format(request)
        annotation_set = self.annotation_set
        services.assert_draft(annotation_set)  # a 409 before reading the file; checked again under the lock
        try:
            items = formats.parse(fmt, request.data, audio_file_id=request.query_params.get("audio_file_id"))
        except formats.MalformedImport as error:
            raise ParseError(f"Malformed {fmt} import: {error}") from None
        if not items:
            raise RequestValidationError(
                {"non_field_errors": [ErrorDetail("the file holds no annotations", code="value_error.empty")]}
            )
        if len(items) > settings.RELAY_MAX_IMPORT_ANNOTATIONS:
            raise RequestValidationError(
                {
                    "non_field_errors": [
                        ErrorDetail(
                            f"at most {settings.RELAY_MAX_IMPORT_ANNOTATIONS} annotations per import",
                            code="value_error.list.max_items",
                        )
                    ]
                }
            )
        context = DatasetContext(self.dataset)
        errors = formats.resolve_filenames(items, context.audio_by_filename())
        if errors:
            raise ValidationItems(errors)
        created = services.add_annotations(annotation_set=annotation_set, items=validate_items(items, context))
        return Response(
            {"created": len(created), "annotation_set": self.set_body(annotation_set)}, status=status.HTTP_201_CREATED
        )
