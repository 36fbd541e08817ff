import time

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from relay import storage


class Command(BaseCommand):
    help = "Create the S3 bucket (S3_BUCKET) if it does not exist yet."

    def add_arguments(self, parser):
        parser.add_argument("--wait", type=float, default=30.0, help="Seconds to keep trying while storage starts.")

    def handle(self, wait, **options):
        deadline = time.monotonic() + wait
        while True:
            try:
                storage.ensure_bucket()
                break
            except (BotoCoreError, ClientError) as error:
                if time.monotonic() > deadline:
                    raise CommandError(f"Could not reach or create bucket {settings.S3_BUCKET}: {error}") from None
                time.sleep(0.5)
        self.stdout.write(f"Bucket {settings.S3_BUCKET} is ready at {settings.S3_ENDPOINT_URL or 'AWS S3'}")
