from django.core.management.base import BaseCommand

from relay import services
from relay.models import Tenant


class Command(BaseCommand):
    help = "On a fresh installation (no tenant yet), create the `default` tenant and print its key."

    def handle(self, **options):
        if Tenant.objects.exists():
            return
        tenant, api_key, raw_key = services.create_tenant(name="default")
        line = "=" * 78
        self.stdout.write(
            f"\n{line}\nFirst start: created tenant 'default' with an API key (all scopes).\n"
            f"It is shown only this once; copy it now:\n\n    export KEY={raw_key}\n\n"
            "More keys: python manage.py create_api_key default --scopes datasets:read,...\n"
            f"{line}\n"
        )
