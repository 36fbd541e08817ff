"""pytest plugin (`-p tests.servers`, see pyproject.toml): real servers for the test run.

Before Django reads its settings, start PostgreSQL, Valkey and SeaweedFS S3 from their
wheels in a throwaway folder on free ports, and point DATABASE_URL, CELERY_BROKER_URL
and S3_ENDPOINT_URL at them. Any of the three already set in the environment is used
as it is (e.g. the machine's own PostgreSQL, Redis or RabbitMQ); the test database and
bucket then get names of their own, so that nothing shared is touched.
"""

import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

import pytest

from relay.embedded.servers import Postgres, SeaweedS3, Valkey, free_ports

_started = []
_tmp_dir = None


def _start_servers():
    global _tmp_dir
    run_id = secrets.token_hex(4)
    os.environ.setdefault("RELAY_ENV", "test")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    _tmp_dir = Path(tempfile.mkdtemp(prefix="relay-test-"))
    os.environ.setdefault("STATIC_ROOT", str(_tmp_dir / "static"))
    Path(os.environ["STATIC_ROOT"]).mkdir(parents=True, exist_ok=True)

    if "DATABASE_URL" in os.environ:
        os.environ.setdefault("RELAY_TEST_DATABASE_NAME", f"test_relay_{run_id}")
    else:
        postgres = Postgres(_tmp_dir / "postgres", ephemeral=True)
        os.environ["DATABASE_URL"] = postgres.start()
        _started.append(postgres)

    if "CELERY_BROKER_URL" not in os.environ:
        (port,) = free_ports(1)
        valkey = Valkey(_tmp_dir / "valkey", port, persistent=False)
        os.environ["CELERY_BROKER_URL"] = valkey.start(port_env_var="-")
        _started.append(valkey)

    if "S3_ENDPOINT_URL" in os.environ:
        os.environ.setdefault("S3_BUCKET", f"relay-test-{run_id}")
    else:
        s3_port, *others = free_ports(1 + len(SeaweedS3.COMPONENTS))
        os.environ["S3_ACCESS_KEY_ID"] = "test" + run_id
        os.environ["S3_SECRET_ACCESS_KEY"] = secrets.token_urlsafe(24)
        seaweed = SeaweedS3(
            _tmp_dir / "seaweedfs",
            s3_port,
            os.environ["S3_ACCESS_KEY_ID"],
            os.environ["S3_SECRET_ACCESS_KEY"],
            component_ports=dict(zip(SeaweedS3.COMPONENTS, others, strict=True)),
        )
        os.environ["S3_ENDPOINT_URL"] = seaweed.start(port_env_var="-")
        _started.append(seaweed)


def _stop_servers():
    while _started:
        _started.pop().stop()
    if _tmp_dir is not None:
        shutil.rmtree(_tmp_dir, ignore_errors=True)


@pytest.hookimpl(wrapper=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A wrapper runs before pytest-django's hook, which reads the Django settings.
    if not getattr(early_config.known_args_namespace, "help", False):
        try:
            _start_servers()
        except BaseException:
            _stop_servers()
            raise
    return (yield)


def pytest_unconfigure(config):
    _stop_servers()
