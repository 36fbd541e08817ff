from django.core.management.base import CommandError

from relay import services
from relay.models import ALL_SCOPES


def parse_scopes(text):
    scopes = [scope.strip() for scope in text.split(",") if scope.strip()] or list(ALL_SCOPES)
    try:
        return services.validate_scopes(scopes)
    except ValueError as error:
        raise CommandError(str(error)) from None
