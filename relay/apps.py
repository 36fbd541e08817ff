from django.apps import AppConfig


class RelayConfig(AppConfig):
    name = "relay"
    verbose_name = "Relay platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from relay import webhooks  # noqa: F401  (fans events out to webhooks once they commit)
        from relay.api import schema  # noqa: F401  (registers the OpenAPI extensions)
