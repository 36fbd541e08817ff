from django.conf import settings
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import status
from rest_framework.response import Response

from datasets import audio_serializers as s
from datasets import audio_services, uploads
from datasets.filters import AudioFileFilter
from datasets.models import AudioFile
from datasets.views import DatasetChildView
from relay.api.schema import error_response

TAGS = ["audio"]


class DatasetAudioView(DatasetChildView):
    scope = "datasets"

    def get_audio(self, audio_id):
        try:
            return AudioFile.objects.get(dataset=self.dataset, pk=audio_id)
        except AudioFile.DoesNotExist:
            raise Http404("Audio file not found") from None

    def expires_in(self, data):
        return data.get("expires_in") or settings.RELAY_UPLOAD_URL_EXPIRES


class AudioUploadUrlView(DatasetAudioView):
    @extend_schema(
        summary="Start an upload (presigned POST)",
        description=(
            "Creates the audio file in `pending` and returns a presigned POST bound to its key, "
            "its Content-Type and exactly `file_size` bytes. POST `fields` and then `file` as "
            "multipart/form-data to `upload_url` (S3 answers 204), then confirm."
        ),
        request=s.UploadUrlRequestSerializer,
        responses={201: s.UploadUrlResponseSerializer},
        examples=[
            OpenApiExample(
                "wav",
                request_only=True,
                value={"filename": "episode-01.wav", "content_type": "audio/wav", "file_size": 1048576},
            ),
        ],
        tags=TAGS,
    )
    def post(self, request, dataset_id):
        data = self.validated(s.UploadUrlRequestSerializer)
        expires_in = self.expires_in(data)
        audio, url, fields = uploads.create_upload(
            dataset=self.dataset,
            filename=data["filename"],
            content_type=data["content_type"],
            file_size=data["file_size"],
            expires_in=expires_in,
        )
        body = {
            "audio_id": audio.id,
            "upload_url": url,
            "fields": fields,
            "key": audio.storage_key,
            "expires_in": expires_in,
            "expires_at": audio.upload_expires_at,
        }
        return Response(s.UploadUrlResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class AudioConfirmView(DatasetAudioView):
    @extend_schema(
        summary="Confirm an upload",
        description=(
            "Checks that the object is in storage with the declared size, then queues decoding: "
            "`normalizing -> embedding -> ready` (or `failed` with `error_message`). Confirming "
            "again returns the same answer."
        ),
        request=s.ConfirmRequestSerializer,
        responses={
            202: s.ConfirmResponseSerializer,
            409: error_response(409, "Nothing uploaded yet, or a multipart upload is still open."),
            422: error_response(422, "The stored object does not have the declared size or type."),
        },
        tags=TAGS,
    )
    def post(self, request, dataset_id):
        audio = self.get_audio(self.validated(s.ConfirmRequestSerializer)["audio_id"])
        audio = uploads.confirm_upload(audio=audio)
        return Response(
            {"audio_id": audio.id, "status": audio.processing_status, "message": audio_services.status_message(audio)},
            status=status.HTTP_202_ACCEPTED,
        )


class AudioListView(DatasetAudioView):
    filterset_class = AudioFileFilter
    queryset = AudioFile.objects.none()

    def tenant_queryset(self):
        return AudioFile.objects.filter(dataset=self.dataset)

    @extend_schema(summary="List a dataset's audio files", responses=s.AudioFileSerializer(many=True), tags=TAGS)
    def get(self, request, dataset_id):
        return self.list_response(s.AudioFileSerializer)


class AudioDetailView(DatasetAudioView):
    @extend_schema(summary="Get an audio file", responses=s.AudioFileSerializer, tags=TAGS)
    def get(self, request, dataset_id, audio_id):
        return Response(s.AudioFileSerializer(self.get_audio(audio_id)).data)

    @extend_schema(
        summary="Delete an audio file",
        description="Deletes the file and its stored objects. 409 while a published annotation set refers to it.",
        responses={204: None, 409: error_response(409, "A published annotation set refers to the file.")},
        tags=TAGS,
    )
    def delete(self, request, dataset_id, audio_id):
        audio_services.delete_audio(audio=self.get_audio(audio_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MultipartStartView(DatasetAudioView):
    @extend_schema(
        summary="Start a multipart upload",
        description=(
            "For large files: returns one presigned PUT URL per part. PUT each part, keep each "
            "answer's ETag, then complete with the list of `{part_number, etag}`, then confirm."
        ),
        request=s.MultipartRequestSerializer,
        responses={201: s.MultipartResponseSerializer},
        tags=TAGS,
    )
    def post(self, request, dataset_id):
        data = self.validated(s.MultipartRequestSerializer)
        expires_in = self.expires_in(data)
        part_size = data.get("part_size") or settings.RELAY_MULTIPART_PART_SIZE
        audio, upload_id, parts = uploads.create_multipart_upload(
            dataset=self.dataset,
            filename=data["filename"],
            content_type=data["content_type"],
            file_size=data["file_size"],
            part_size=part_size,
            expires_in=expires_in,
        )
        body = {
            "audio_id": audio.id,
            "upload_id": upload_id,
            "key": audio.storage_key,
            "part_size": part_size,
            "parts": parts,
            "expires_in": expires_in,
            "expires_at": audio.upload_expires_at,
        }
        return Response(s.MultipartResponseSerializer(body).data, status=status.HTTP_201_CREATED)


class MultipartCompleteView(DatasetAudioView):
    @extend_schema(
        summary="Complete a multipart upload",
        request=s.MultipartCompleteSerializer,
        responses={
            200: s.AudioFileSerializer,
            409: error_response(409, "No multipart upload in progress for this file."),
            422: error_response(422, "Parts missing or refused by S3, or the result has the wrong size."),
        },
        tags=TAGS,
    )
    def post(self, request, dataset_id):
        data = self.validated(s.MultipartCompleteSerializer)
        audio = uploads.complete_multipart_upload(audio=self.get_audio(data["audio_id"]), parts=data["parts"])
        return Response(s.AudioFileSerializer(audio).data)


class MultipartAbortView(DatasetAudioView):
    @extend_schema(
        summary="Abort a multipart upload",
        description="Discards the uploaded parts; the file ends `failed`.",
        request=s.AudioIdSerializer,
        responses={200: s.AudioFileSerializer, 409: error_response(409, "No multipart upload in progress.")},
        tags=TAGS,
    )
    def post(self, request, dataset_id):
        audio = self.get_audio(self.validated(s.AudioIdSerializer)["audio_id"])
        return Response(s.AudioFileSerializer(uploads.abort_multipart_upload(audio=audio)).data)
