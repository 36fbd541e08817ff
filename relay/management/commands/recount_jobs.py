from django.core.management.base import BaseCommand

from relay import counts


class Command(BaseCommand):
    help = "Count every tenant's jobs by kind and status again (GET /jobs/count); safe while Relay runs."

    def handle(self, *args, **options):
        counts.recount()
        self.stdout.write("job counts rebuilt")
