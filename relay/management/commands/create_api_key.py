import uuid
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from relay import services
from relay.management.scopes import parse_scopes
from relay.models import Tenant


class Command(BaseCommand):
    help = "Create another API key for a tenant (by name or id) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="Tenant name or id.")
        parser.add_argument("--scopes", default="", help="Comma-separated scopes (default: all).")
        parser.add_argument("--name", default="", help="A label for the key.")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, tenant, scopes, name, expires_in_days, **options):
        found = Tenant.objects.filter(name=tenant).first()
        if found is None:
            try:
                found = Tenant.objects.filter(pk=uuid.UUID(tenant)).first()
            except ValueError:
                found = None
        if found is None:
            raise CommandError(f"No tenant named or with id {tenant!r}.")
        expires_at = None
        if expires_in_days is not None:
            if expires_in_days < 1:
                raise CommandError("--expires-in-days must be at least 1.")
            expires_at = timezone.now() + timedelta(days=expires_in_days)
        api_key, raw_key = services.create_api_key(
            tenant=found, name=name, scopes=parse_scopes(scopes), expires_at=expires_at
        )
        self.stdout.write(
            f"Scopes: {', '.join(api_key.scopes)}" + (f"; expires {expires_at:%Y-%m-%d}" if expires_at else "")
        )
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(raw_key)
