from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.utils.html import format_html

from datasets import services
from datasets.models import ArtifactType, AudioFile, AudioStatus, Dataset
from relay import storage
from relay.admin_kit import audio_player, error_excerpt


class ArtifactTypeInline(admin.TabularInline):
    """Read-only: published sets pin the types they use; the API changes them safely."""

    model = ArtifactType
    extra = 0
    can_delete = False
    fields = ("name", "description", "color")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ("name", "tenant", "type_count", "audio_count", "created_at", "updated_at")
    list_filter = ("tenant", "created_at")
    list_select_related = ("tenant",)
    search_fields = ("name", "description", "id", "tenant__name")
    readonly_fields = ("id", "created_at", "updated_at")
    date_hierarchy = "created_at"
    inlines = [ArtifactTypeInline]

    def has_delete_permission(self, request, obj=None):
        return False  # through the API: it removes the stored objects and refuses while training runs

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(_types=Count("artifact_types", distinct=True), _audio=Count("audio_files", distinct=True))
        )

    @admin.display(description="artifact types", ordering="_types")
    def type_count(self, dataset):
        return dataset._types

    @admin.display(description="audio files", ordering="_audio")
    def audio_count(self, dataset):
        return dataset._audio


@admin.register(AudioFile)
class AudioFileAdmin(admin.ModelAdmin):
    list_display = ("filename", "dataset", "tenant", "status", "duration", "file_size", "error", "created_at")
    list_filter = ("status", "content_type", "dataset__tenant", "created_at")
    list_select_related = ("dataset", "dataset__tenant")
    search_fields = ("filename", "id", "dataset__name", "storage_key")
    date_hierarchy = "created_at"
    actions = ["reprocess"]
    readonly_fields = (
        "id",
        "player",
        "dataset",
        "filename",
        "content_type",
        "file_size",
        "storage_key",
        "status",
        "error_message",
        "duration_ms",
        "sample_rate",
        "channels",
        "multipart_upload_id",
        "upload_expires_at",
        "confirmed_at",
        "attempts",
        "started_at",
        "heartbeat_at",
        "task_id",
        "processed_at",
        "created_at",
        "updated_at",
    )
    fields = readonly_fields

    def has_add_permission(self, request):
        return False  # files arrive through the upload API

    def has_change_permission(self, request, obj=None):
        return False  # only the upload flow and its worker write a file

    def has_delete_permission(self, request, obj=None):
        return False  # through the API: it removes the stored objects and refuses while a published set uses it

    @admin.display(description="tenant", ordering="dataset__tenant__name")
    def tenant(self, audio):
        return audio.dataset.tenant

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, audio):
        return "-" if audio.duration_ms is None else f"{audio.duration_ms / 1000:.2f} s"

    @admin.display(description="error")
    def error(self, audio):
        return error_excerpt(audio.error_message)

    @admin.display(description="listen")
    def player(self, audio):
        if audio.confirmed_at is None:
            return "not uploaded"
        html = audio_player(audio.storage_key)
        if audio.status == AudioStatus.READY:
            canonical = storage.presigned_get(audio.canonical_key, expires_in=settings.RELAY_DOWNLOAD_URL_EXPIRES)
            html += format_html(' · <a href="{}">canonical 16 kHz mono FLAC</a>', canonical)
        return html

    @admin.action(description="Process selected files again")
    def reprocess(self, request, queryset):
        count = services.reprocess(queryset)
        self.message_user(request, f"Queued {count} file(s) for processing.", messages.SUCCESS)
