from django.core.management.base import BaseCommand, CommandError

from relay import services
from relay.management.scopes import parse_scopes
from relay.models import Tenant


class Command(BaseCommand):
    help = "Create a tenant and print its first API key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--scopes", default="", help="Comma-separated scopes (default: all).")

    def handle(self, name, scopes, **options):
        if Tenant.objects.filter(name=name).exists():
            raise CommandError(f"A tenant named {name!r} exists already; use create_api_key for another key.")
        tenant, api_key, raw_key = services.create_tenant(name=name, scopes=parse_scopes(scopes))
        self.stdout.write(f"Tenant {tenant.name} ({tenant.id})")
        self.stdout.write(f"Scopes: {', '.join(api_key.scopes)}")
        self.stdout.write("API key (shown once, store it now):")
        self.stdout.write(raw_key)
