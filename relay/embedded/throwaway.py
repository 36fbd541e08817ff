"""A throwaway stack for tests and benchmarks: PostgreSQL, Valkey and SeaweedFS S3 in a
temporary folder on free ports, wired into the environment before Django reads it.

DATABASE_URL, CELERY_BROKER_URL or S3_ENDPOINT_URL already in the environment are used
as they are; the database and bucket then get names of their own, so that nothing
shared is touched.
"""

import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from relay.embedded.servers import Postgres, SeaweedS3, Valkey, free_ports


class ThrowawayStack:
    def __init__(self, prefix="relay-test-"):
        self.prefix = prefix
        self.started = []
        self.tmp_dir = None

    def start(self):
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self):
        run_id = secrets.token_hex(4)
        logging.getLogger("pgserver").setLevel(logging.WARNING)
        self.tmp_dir = Path(tempfile.mkdtemp(prefix=self.prefix))
        os.environ.setdefault("RELAY_ENV", "test")
        # Tests and benchmarks send far more than a client would; the limits have tests of their own.
        for kind in ("READ", "WRITE", "UPLOAD", "JOBS", "AUTH_FAILURES"):
            os.environ.setdefault(f"RELAY_RATE_LIMIT_{kind}", "1000000")
        os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
        os.environ.setdefault("STATIC_ROOT", str(self.tmp_dir / "static"))
        Path(os.environ["STATIC_ROOT"]).mkdir(parents=True, exist_ok=True)

        if "DATABASE_URL" in os.environ:
            os.environ.setdefault("RELAY_TEST_DATABASE_NAME", f"test_relay_{run_id}")
        else:
            postgres = Postgres(self.tmp_dir / "postgres", ephemeral=True)
            os.environ["DATABASE_URL"] = postgres.start()
            self.started.append(postgres)

        if "CELERY_BROKER_URL" not in os.environ:
            (port,) = free_ports(1)
            valkey = Valkey(self.tmp_dir / "valkey", port, secrets.token_urlsafe(24), persistent=False)
            os.environ["CELERY_BROKER_URL"] = valkey.start(port_env_var="-")
            self.started.append(valkey)

        if "S3_ENDPOINT_URL" in os.environ:
            os.environ.setdefault("S3_BUCKET", f"relay-test-{run_id}")
        else:
            s3_port, *others = free_ports(1 + len(SeaweedS3.COMPONENTS))
            os.environ["S3_ACCESS_KEY_ID"] = "test" + run_id
            os.environ["S3_SECRET_ACCESS_KEY"] = secrets.token_urlsafe(24)
            seaweed = SeaweedS3(
                self.tmp_dir / "seaweedfs",
                s3_port,
                os.environ["S3_ACCESS_KEY_ID"],
                os.environ["S3_SECRET_ACCESS_KEY"],
                component_ports=dict(zip(SeaweedS3.COMPONENTS, others, strict=True)),
            )
            os.environ["S3_ENDPOINT_URL"] = seaweed.start(port_env_var="-")
            self.started.append(seaweed)

    def stop(self):
        while self.started:
            self.started.pop().stop()
        if self.tmp_dir is not None:
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir = None
