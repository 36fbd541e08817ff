"""Where the client finds the API and its key: arguments, then `RELAY_API_URL` /
`RELAY_API_KEY`, then a config file (`RELAY_CONFIG`, default `~/.config/relay/config.toml`):

    api_url = "http://127.0.0.1:8000"
    api_key = "rk_..."

    [profiles.staging]          # chosen with RELAY_PROFILE=staging or --profile staging
    api_url = "https://relay.staging.example.com"
    api_key = "rk_..."

The URL may name the server (`http://host:8000`) or the API root (`.../api/v1`).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from relay_client.errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:8000"


def config_path():
    if os.environ.get("RELAY_CONFIG"):
        return Path(os.environ["RELAY_CONFIG"]).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "relay" / "config.toml"


@dataclass(frozen=True)
class Settings:
    api_url: str
    api_key: str | None


def api_root(url):
    """`http://host:8000` or `http://host:8000/api/v1/` -> `http://host:8000/api/v1`."""
    url = url.rstrip("/")
    if not url.endswith("/api/v1"):
        url += "/api/v1"
    return url


def read_file(path=None, profile=None):
    path = Path(path) if path else config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    profile = profile or os.environ.get("RELAY_PROFILE")
    if profile:
        profiles = data.get("profiles", {})
        if profile not in profiles:
            raise ConfigError(f"no profile {profile!r} in {path} (profiles: {', '.join(profiles) or 'none'})")
        return {**{k: v for k, v in data.items() if k != "profiles"}, **profiles[profile]}
    return data


def resolve(api_url=None, api_key=None, profile=None, require_key=True):
    """Settings from the arguments, the environment and the config file, in that order."""
    file = None

    def from_file(name):
        nonlocal file
        if file is None:
            file = read_file(profile=profile)
        return file.get(name)

    url = api_url or os.environ.get("RELAY_API_URL") or from_file("api_url") or DEFAULT_URL
    key = api_key or os.environ.get("RELAY_API_KEY") or from_file("api_key")
    if require_key and not key:
        raise ConfigError(
            f'no API key: set RELAY_API_KEY, pass api_key=... (--api-key), or write api_key = "rk_..." in '
            f"{config_path()}"
        )
    return Settings(api_root(str(url)), key)
