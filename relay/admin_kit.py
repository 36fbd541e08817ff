"""What the apps' admin pages share: a read-only ModelAdmin, short ids, progress bars,
error excerpts, an audio player."""

from django.conf import settings
from django.contrib import admin
from django.utils.html import format_html
from django.utils.text import Truncator

from relay import storage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Pages of what only workers and services write (jobs, files, results): no add, save
    or delete, which would bypass the lifecycle's conditional updates and counters; the
    actions that go through services stay."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def short_id(obj):
    """The first 8 characters of a UUID primary key (the whole of it on hover), for lists."""
    return format_html('<span title="{}">{}…</span>', obj.pk, str(obj.pk)[:8])


def progress_bar(fraction, label=""):
    """A <progress> bar with its percentage (and `label`, e.g. "3 of 4 files")."""
    fraction = min(max(float(fraction or 0.0), 0.0), 1.0)
    text = f"{fraction * 100:.0f}%" + (f" · {label}" if label else "")
    return format_html(
        '<progress max="1" value="{}" title="{}" style="width: 8em; vertical-align: middle">{}</progress> {}',
        f"{fraction:.4f}",
        text,
        text,
        text,
    )


def error_excerpt(message, length=60):
    """The start of an error message; the whole of it on hover."""
    if not message:
        return "-"
    return format_html(
        '<span class="error-excerpt" title="{}" style="color: #ba2121">{}</span>',
        message,
        Truncator(message).chars(length),
    )


def audio_player(storage_key):
    """An <audio> player of a stored object and a link to it, through a presigned GET URL
    that lives as long as the API's download URLs (reloading the page makes a new one)."""
    url = storage.presigned_get(storage_key, expires_in=settings.RELAY_DOWNLOAD_URL_EXPIRES)
    return format_html('<audio controls preload="none" src="{}"></audio> <a href="{}">original</a>', url, url)
