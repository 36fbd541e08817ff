from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from datasets import docs, selectors, services
from datasets import serializers as s
from datasets.filters import AudioFileFilter, DatasetFilter
from datasets.models import AudioFile, Dataset
from relay.api.exceptions import error_status
from relay.api.filters import includes
from relay.api.views import TenantAPIView


class DatasetListView(TenantAPIView):
    scope = "datasets"
    filterset_class = DatasetFilter
    queryset = Dataset.objects.none()

    def tenant_queryset(self):
        return selectors.datasets_for(tenant=self.tenant)

    @extend_schema(**docs.LIST_DATASETS)
    def get(self, request):
        return self.list_response(s.DatasetSerializer)

    @extend_schema(**docs.CREATE_DATASET)
    def post(self, request):
        dataset = services.create_dataset(tenant=self.tenant, **self.validated(s.DatasetCreateSerializer))
        dataset = selectors.get_dataset(tenant=self.tenant, dataset_id=dataset.pk)
        return Response(s.DatasetSerializer(dataset).data, status=status.HTTP_201_CREATED)


class DatasetDetailView(TenantAPIView):
    scope = "datasets"

    def get_object(self):
        return selectors.get_dataset(tenant=self.tenant, dataset_id=self.kwargs["dataset_id"])

    @extend_schema(**docs.GET_DATASET)
    def get(self, request, dataset_id):
        return Response(s.DatasetSerializer(self.get_object()).data)

    @extend_schema(**docs.UPDATE_DATASET)
    def patch(self, request, dataset_id):
        dataset = self.get_object()
        services.update_dataset(tenant=self.tenant, dataset=dataset, **self.validated(s.DatasetUpdateSerializer))
        return Response(s.DatasetSerializer(self.get_object()).data)

    @extend_schema(**docs.DELETE_DATASET)
    def delete(self, request, dataset_id):
        services.delete_dataset(tenant=self.tenant, dataset=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class DatasetChildView(TenantAPIView):
    """Views under /datasets/{dataset_id}/...: the dataset is the caller's or a 404."""

    def load_path_objects(self):
        self.dataset  # noqa: B018

    @property
    def dataset(self):
        if not hasattr(self, "_dataset"):
            self._dataset = selectors.get_dataset(
                tenant=self.tenant, dataset_id=self.kwargs["dataset_id"], with_counts=False
            )
        return self._dataset


class DatasetAudioView(DatasetChildView):
    scope = "datasets"

    def get_audio(self, audio_id):
        return selectors.get_audio(dataset=self.dataset, audio_id=audio_id)

    def expires_in(self, data):
        return data.get("expires_in") or settings.RELAY_UPLOAD_URL_EXPIRES


def ticket(audio, url, fields, expires_in):
    """What an upload-url call answers for one new file."""
    return {
        "audio_id": audio.id,
        "replaced_audio_ids": audio.replaced_ids,
        "upload_url": url,
        "fields": fields,
        "key": audio.storage_key,
        "expires_in": expires_in,
        "expires_at": audio.upload_expires_at,
    }


class AudioUploadUrlView(DatasetAudioView):
    rate_class = "upload"

    @extend_schema(**docs.UPLOAD_URL)
    def post(self, request, dataset_id):
        data = self.validated(s.UploadUrlRequestSerializer)
        expires_in = self.expires_in(data)
        audio, url, fields = services.create_upload(
            dataset=self.dataset,
            filename=data["filename"],
            content_type=data["content_type"],
            file_size=data["file_size"],
            expires_in=expires_in,
        )
        body = ticket(audio, url, fields, expires_in)
        return Response(s.UploadUrlResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class AudioUploadUrlsView(DatasetAudioView):
    rate_class = "upload"

    @extend_schema(**docs.UPLOAD_URLS)
    def post(self, request, dataset_id):
        data = self.validated(s.UploadUrlsRequestSerializer)
        expires_in = self.expires_in(data)
        signed = services.create_uploads(dataset=self.dataset, files=data["files"], expires_in=expires_in)
        body = {"uploads": [ticket(audio, url, fields, expires_in) for audio, url, fields in signed]}
        return Response(s.UploadUrlsResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class AudioConfirmBatchView(DatasetAudioView):
    @extend_schema(**docs.CONFIRM_BATCH)
    def post(self, request, dataset_id):
        audio_ids = self.validated(s.ConfirmBatchRequestSerializer)["audio_ids"]
        results = [
            {
                "audio_id": audio_id,
                "ok": error is None,
                "status": None if audio is None else audio.status,
                "message": None if audio is None else services.status_message(audio),
                "error": None if error is None else {"status": error_status(error), "detail": error.message},
            }
            for audio_id, audio, error in services.confirm_uploads(dataset=self.dataset, audio_ids=audio_ids)
        ]
        failed = sum(not item["ok"] for item in results)
        body = {"confirmed": len(results) - failed, "failed": failed, "results": results}
        return Response(s.ConfirmBatchResponseSerializer(body).data, status=status.HTTP_202_ACCEPTED)


class AudioConfirmView(DatasetAudioView):
    @extend_schema(**docs.CONFIRM)
    def post(self, request, dataset_id):
        audio = self.get_audio(self.validated(s.ConfirmRequestSerializer)["audio_id"])
        audio = services.confirm_upload(audio=audio)
        return Response(
            {"audio_id": audio.id, "status": audio.status, "message": services.status_message(audio)},
            status=status.HTTP_202_ACCEPTED,
        )


class AudioListView(DatasetAudioView):
    filterset_class = AudioFileFilter
    queryset = AudioFile.objects.none()

    def tenant_queryset(self):
        return selectors.audio_of(dataset=self.dataset)

    @extend_schema(**docs.LIST_AUDIO)
    def get(self, request, dataset_id):
        download_urls = "download_url" in includes(request.query_params, {"download_url"})
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        body = s.AudioFileSerializer(page, many=True, context={"download_urls": download_urls}).data
        return self.get_paginated_response(body)


class AudioDetailView(DatasetAudioView):
    @extend_schema(**docs.GET_AUDIO)
    def get(self, request, dataset_id, audio_id):
        return Response(s.AudioFileSerializer(self.get_audio(audio_id)).data)

    @extend_schema(**docs.DELETE_AUDIO)
    def delete(self, request, dataset_id, audio_id):
        services.delete_audio(audio=self.get_audio(audio_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MultipartStartView(DatasetAudioView):
    rate_class = "upload"

    @extend_schema(**docs.START_MULTIPART)
    def post(self, request, dataset_id):
        data = self.validated(s.MultipartRequestSerializer)
        expires_in = self.expires_in(data)
        part_size = data.get("part_size") or settings.RELAY_MULTIPART_PART_SIZE
        audio, upload_id, parts = services.create_multipart_upload(
            dataset=self.dataset,
            filename=data["filename"],
            content_type=data["content_type"],
            file_size=data["file_size"],
            part_size=part_size,
            expires_in=expires_in,
        )
        body = {
            "audio_id": audio.id,
            "replaced_audio_ids": audio.replaced_ids,
            "upload_id": upload_id,
            "key": audio.storage_key,
            "part_size": part_size,
            "parts": parts,
            "expires_in": expires_in,
            "expires_at": audio.upload_expires_at,
        }
        return Response(s.MultipartResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class MultipartCompleteView(DatasetAudioView):
    @extend_schema(**docs.COMPLETE_MULTIPART)
    def post(self, request, dataset_id):
        data = self.validated(s.MultipartCompleteSerializer)
        audio = services.complete_multipart_upload(audio=self.get_audio(data["audio_id"]), parts=data["parts"])
        return Response(s.AudioFileSerializer(audio).data)


class MultipartAbortView(DatasetAudioView):
    @extend_schema(**docs.ABORT_MULTIPART)
    def post(self, request, dataset_id):
        audio = self.get_audio(self.validated(s.AudioIdSerializer)["audio_id"])
        return Response(s.AudioFileSerializer(services.abort_multipart_upload(audio=audio)).data)
