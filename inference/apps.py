from django.apps import AppConfig


class InferenceConfig(AppConfig):
    name = "inference"
    default_auto_field = "django.db.models.BigAutoField"
    api_urlconf = "inference.urls"

    def ready(self):
        from annotations.services import suggestion_sources
        from inference import selectors, services
        from inference.models import InferenceFile
        from relay import uploads, work

        suggestion_sources["inference_job"] = selectors.detections_on_dataset
        uploads.register(InferenceFile, services.queue_uploads)
        work.on_failure(InferenceFile, services.count_failed_file)
        work.on_reap(services.finish_stalled_jobs)
