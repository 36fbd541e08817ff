from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class RelayConfig(AppConfig):
    name = "relay"
    verbose_name = "Relay platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from relay import (
            counts,
            fleet,
            jobs,
            webhooks,  # noqa: F401  (fans events out to webhooks once they commit)
            work,
        )
        from relay.api import schema  # noqa: F401  (registers the OpenAPI extensions)

        work.on_reap(fleet.prune)
        for model in jobs.job_kinds().values():
            counts.count_with_signals(model)


class RelayAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Relay's site (relay/admin_site.py); INSTALLED_APPS names it."""

    default = False  # not a config of the `relay` app itself
    default_site = "relay.admin_site.RelayAdminSite"
