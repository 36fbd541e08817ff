from django.apps import AppConfig


class RelayConfig(AppConfig):
    name = "relay"
    verbose_name = "Relay platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from relay import fleet, work  # webhooks: fans events out once they commit

        work.on_reap(fleet.prune)
        from relay.api import schema  # noqa: F401  (registers the OpenAPI extensions)
