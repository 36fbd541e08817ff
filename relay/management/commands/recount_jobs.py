from django.core.management.base import BaseCommand

from relay import counts
from relay.jobs import job_kinds


class Command(BaseCommand):
    help = "Count every tenant's jobs by kind and status again (GET /jobs/count); safe while Relay runs."

    def handle(self, *args, **options):
        counts.recount(job_kinds().values())
        self.stdout.write("job counts rebuilt")
