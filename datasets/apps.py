from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    default_auto_field = "django.db.models.BigAutoField"
    api_urlconf = "datasets.urls"

    def ready(self):
        from datasets import services
        from datasets.models import AudioFile
        from relay import uploads

        uploads.register(AudioFile, services.queue_processing)
