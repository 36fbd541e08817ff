from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from annotations import docs, formats, selectors, services
from annotations import serializers as s
from annotations.filters import AnnotationFilter, AnnotationSetFilter
from annotations.models import Annotation, AnnotationSet
from datasets.views import DatasetChildView
from relay.api.parsers import RawBodyParser
from relay.errors import InvalidInput, problem


class AnnotationSetView(DatasetChildView):
    scope = "annotations"

    def load_path_objects(self):
        if "set_id" in self.kwargs:
            self.annotation_set  # noqa: B018
        else:
            self.dataset  # noqa: B018

    @property
    def annotation_set(self):
        if not hasattr(self, "_set"):
            found = selectors.find_set(
                tenant=self.tenant, dataset_id=self.kwargs["dataset_id"], set_id=self.kwargs["set_id"]
            )
            if found is None:  # a 404 that names what is missing: the dataset, or the set in it
                found = selectors.get_set(dataset=self.dataset, set_id=self.kwargs["set_id"])
            self._set, self._dataset = found, found.dataset
        return self._set

    def set_body(self, annotation_set):
        (annotation_set,) = selectors.with_stats([annotation_set])
        return s.AnnotationSetSerializer(annotation_set).data


class AnnotationSetListView(AnnotationSetView):
    filterset_class = AnnotationSetFilter
    queryset = AnnotationSet.objects.none()

    def tenant_queryset(self):
        return selectors.sets_for(dataset=self.dataset)

    @extend_schema(**docs.LIST_SETS)
    def get(self, request, dataset_id):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(s.AnnotationSetSerializer(selectors.with_stats(page), many=True).data)

    @extend_schema(**docs.CREATE_SET)
    def post(self, request, dataset_id):
        data = self.validated(s.AnnotationSetCreateSerializer, data=request.data or {})
        annotation_set = services.create_set(dataset=self.dataset, **data)
        return Response(self.set_body(annotation_set), status=status.HTTP_201_CREATED)


class AnnotationSetDetailView(AnnotationSetView):
    @extend_schema(**docs.GET_SET)
    def get(self, request, dataset_id, set_id):
        body = self.set_body(self.annotation_set)
        limit = docs.DETAIL_MAX_ANNOTATIONS
        annotations = list(selectors.annotations_of(annotation_set=self.annotation_set)[: limit + 1])
        body["annotations_truncated"] = len(annotations) > limit
        body["annotations"] = [s.annotation_dict(a) for a in annotations[:limit]]
        return Response(body)

    @extend_schema(**docs.DELETE_SET)
    def delete(self, request, dataset_id, set_id):
        services.delete_set(annotation_set=self.annotation_set)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PublishView(AnnotationSetView):
    @extend_schema(**docs.PUBLISH)
    def post(self, request, dataset_id, set_id):
        return Response(s.AnnotationSetSerializer(services.publish(annotation_set=self.annotation_set)).data)


class AnnotationListView(AnnotationSetView):
    filterset_class = AnnotationFilter
    queryset = Annotation.objects.none()

    def load_path_objects(self):
        if self.request.method != "GET":  # a GET's one query is scoped to the set (see get)
            super().load_path_objects()

    def tenant_queryset(self):
        return selectors.annotation_list(
            tenant=self.tenant, dataset_id=self.kwargs["dataset_id"], set_id=self.kwargs["set_id"]
        )

    @extend_schema(**docs.LIST_ANNOTATIONS)
    def get(self, request, dataset_id, set_id):
        page = self.paginator.paginate_queryset(
            self.filter_queryset(self.get_queryset()), self.request, view=self, document=selectors.ANNOTATION_JSON
        )
        if not page:
            self.annotation_set  # noqa: B018  (nothing found: a 404 if the set is not the caller's)
        return self.get_paginated_response(page)

    @extend_schema(**docs.CREATE_ANNOTATION)
    def post(self, request, dataset_id, set_id):
        annotation = services.add_annotation(annotation_set=self.annotation_set, raw=request.data)
        return Response(s.annotation_dict(annotation), status=status.HTTP_201_CREATED)


class BulkCreateView(AnnotationSetView):
    @extend_schema(**docs.BULK_CREATE)
    def post(self, request, dataset_id, set_id):
        body = request.data if isinstance(request.data, dict) else {}
        extra = sorted(set(body) - {"annotations"})
        if extra:
            raise InvalidInput([problem(["body", f], "extra fields not permitted", "value_error.extra") for f in extra])
        created = services.add_bulk(annotation_set=self.annotation_set, raw_items=body.get("annotations"))
        return Response(
            {"created": len(created), "annotations": [s.annotation_dict(a) for a in created]},
            status=status.HTTP_201_CREATED,
        )


class AnnotationDetailView(AnnotationSetView):
    def get_annotation(self):
        return selectors.get_annotation(annotation_set=self.annotation_set, annotation_id=self.kwargs["annotation_id"])

    @extend_schema(**docs.GET_ANNOTATION)
    def get(self, request, dataset_id, set_id, annotation_id):
        return Response(s.annotation_dict(self.get_annotation()))

    @extend_schema(**docs.UPDATE_ANNOTATION)
    def patch(self, request, dataset_id, set_id, annotation_id):
        annotation = services.update_annotation(annotation=self.get_annotation(), raw=request.data)
        return Response(s.annotation_dict(annotation))

    @extend_schema(**docs.DELETE_ANNOTATION)
    def delete(self, request, dataset_id, set_id, annotation_id):
        services.delete_annotation(annotation=self.get_annotation())
        return Response(status=status.HTTP_204_NO_CONTENT)


def _format(request):
    fmt = request.query_params.get("format")
    if fmt not in formats.FORMATS:
        raise InvalidInput.at(
            ["query", "format"],
            f"format must be one of: {', '.join(formats.FORMATS)}",
            "value_error.missing" if fmt is None else "type_error.enum",
        )
    return fmt


class ExportView(AnnotationSetView):
    @extend_schema(**docs.EXPORT)
    def get(self, request, dataset_id, set_id):
        annotation_set = self.annotation_set
        exported = selectors.export_set(
            annotation_set=annotation_set, fmt=_format(request), audio_file_id=request.query_params.get("audio_file_id")
        )
        response = HttpResponse(exported.body, content_type=exported.content_type)
        name = f"relay-{self.dataset.pk}-v{annotation_set.version}.{exported.extension}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response


class ImportView(AnnotationSetView):
    parser_classes = [RawBodyParser]

    @extend_schema(**docs.IMPORT)
    def post(self, request, dataset_id, set_id):
        annotation_set = self.annotation_set  # a 404 before anything about the request
        mode = request.query_params.get("mode") or services.APPEND
        created, counts = services.import_annotations(
            annotation_set=annotation_set,
            fmt=_format(request),
            body=request.data,
            audio_file_id=request.query_params.get("audio_file_id"),
            mode=mode,
        )
        return Response(
            {"created": len(created), "mode": mode, **counts, "annotation_set": self.set_body(self.annotation_set)},
            status=status.HTTP_201_CREATED,
        )
