"""Relay's Python client: `Relay()` reads RELAY_API_URL and RELAY_API_KEY (or
~/.config/relay/config.toml).

    from relay_client import Relay

    relay = Relay()
    dataset = relay.create_dataset("Podcasts", artifact_types=["glitch", "dropout"])
    relay.upload(dataset, "recordings/")
"""

from relay_client._version import __version__
from relay_client.client import Relay
from relay_client.errors import (
    AuthenticationError,
    BadRequest,
    ConfigError,
    Conflict,
    JobFailed,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    RelayConnectionError,
    RelayError,
    ServerError,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationError,
)
from relay_client.results import Results

__all__ = [
    "AuthenticationError",
    "BadRequest",
    "ConfigError",
    "Conflict",
    "JobFailed",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "RateLimited",
    "Relay",
    "RelayConnectionError",
    "RelayError",
    "Results",
    "ServerError",
    "ServiceUnavailable",
    "UnsupportedMediaType",
    "ValidationError",
    "__version__",
]
