"""`make run`: the whole platform on one machine.

Starts PostgreSQL, Valkey and SeaweedFS S3 from their wheels under one data folder
(RELAY_DATA_DIR, default ./.relay) unless DATABASE_URL, CELERY_BROKER_URL or
S3_ENDPOINT_URL point elsewhere; migrates; creates the bucket; on the very first start
creates the `default` tenant and prints its key; then runs web (uvicorn), a Celery
worker and Celery beat under honcho. Ctrl-C stops all of them, then the servers.
"""

import json
import logging
import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from relay.embedded import web
from relay.embedded.servers import Postgres, SeaweedS3, ServerError, Valkey, require_free

logger = logging.getLogger("relay.embedded")
BASE_DIR = Path(__file__).resolve().parent.parent.parent


def load_secrets(data_dir):
    """Secrets generated on the first start and kept in the data folder (one missing from
    a folder made by an older version is added)."""
    path = data_dir / "secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    wanted = {
        "SECRET_KEY": lambda: secrets.token_urlsafe(50),
        "S3_ACCESS_KEY_ID": lambda: "relay" + secrets.token_hex(6),
        "S3_SECRET_ACCESS_KEY": lambda: secrets.token_urlsafe(30),
        "BROKER_PASSWORD": lambda: secrets.token_urlsafe(24),
        "RELAY_METRICS_TOKEN": lambda: secrets.token_urlsafe(24),
    }
    missing = {name: make() for name, make in wanted.items() if name not in values}
    if missing or not path.exists():
        values.update(missing)
        path.write_text(json.dumps(values, indent=2))
        path.chmod(0o600)
    return values


ENV_FILE_KEYS = (
    "RELAY_ENV",
    "SECRET_KEY",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_BUCKET",
    "STATIC_ROOT",
)


def write_env_file(data_dir, env):
    """`.relay/env`: the settings of this stack, for `make manage` while it runs."""
    path = data_dir / "env"
    lines = [f"{key}={shlex.quote(env[key])}" for key in ENV_FILE_KEYS if key in env]
    path.write_text("# Written by make run: the settings of the running stack.\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)


def fresh_metrics_dir(path):
    """Where web and worker processes write their metrics (GET /metrics sums them); emptied
    at each start, as prometheus-client requires."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def manage(*args, env):
    subprocess.run([sys.executable, str(BASE_DIR / "manage.py"), *args], env=env, check=True, cwd=BASE_DIR)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    signal.signal(signal.SIGTERM, _interrupt)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s run: %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    data_dir = Path(os.environ.get("RELAY_DATA_DIR", BASE_DIR / ".relay")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    web_port = int(os.environ.get("RELAY_PORT", "8000"))
    web_host = os.environ.get("RELAY_HOST", "127.0.0.1")
    stored = load_secrets(data_dir)
    env = dict(os.environ)
    env.setdefault("RELAY_ENV", "development")
    env.setdefault("SECRET_KEY", stored["SECRET_KEY"])
    env.setdefault("STATIC_ROOT", str(data_dir / "static"))
    env.setdefault("RELAY_METRICS_TOKEN", stored["RELAY_METRICS_TOKEN"])
    env["PROMETHEUS_MULTIPROC_DIR"] = str(fresh_metrics_dir(data_dir / "metrics"))
    env["PYTHONUNBUFFERED"] = "1"

    started = []
    try:
        require_free(web_port, "the web server", "RELAY_PORT")
        if "DATABASE_URL" not in os.environ:
            postgres = Postgres(data_dir / "postgres")
            env["DATABASE_URL"] = postgres.start()
            started.append(postgres)
            logger.info(
                "PostgreSQL 16 ready on a Unix socket in %s (log: %s/log)", data_dir / "postgres", data_dir / "postgres"
            )
        else:
            logger.info("using DATABASE_URL from the environment")
        if "CELERY_BROKER_URL" not in os.environ:
            valkey = Valkey(
                data_dir / "valkey", int(os.environ.get("RELAY_BROKER_PORT", "6390")), stored["BROKER_PASSWORD"]
            )
            env["CELERY_BROKER_URL"] = valkey.start()
            started.append(valkey)
            logger.info("Valkey ready on 127.0.0.1:%d, with a password (log: %s)", valkey.port, valkey.process.log_path)
        else:
            logger.info("using CELERY_BROKER_URL from the environment")
        if "S3_ENDPOINT_URL" not in os.environ:
            env.setdefault("S3_ACCESS_KEY_ID", stored["S3_ACCESS_KEY_ID"])
            env.setdefault("S3_SECRET_ACCESS_KEY", stored["S3_SECRET_ACCESS_KEY"])
            seaweed = SeaweedS3(
                data_dir / "seaweedfs",
                int(os.environ.get("RELAY_S3_PORT", "8333")),
                env["S3_ACCESS_KEY_ID"],
                env["S3_SECRET_ACCESS_KEY"],
            )
            env["S3_ENDPOINT_URL"] = seaweed.start()
            started.append(seaweed)
            logger.info("SeaweedFS S3 ready at %s (log: %s)", seaweed.endpoint, seaweed.process.log_path)
        else:
            logger.info("using S3_ENDPOINT_URL from the environment")

        write_env_file(data_dir, env)
        manage("migrate", "--noinput", "-v", "0", env=env)
        manage("collectstatic", "--noinput", "-v", "0", env=env)
        manage("ensure_bucket", env=env)
        manage("bootstrap_default_tenant", env=env)
        return supervise(env, data_dir, web_host, web_port)
    except (ServerError, subprocess.CalledProcessError) as error:
        logger.error("%s", error)
        return 1
    except KeyboardInterrupt:
        logger.info("interrupted")
        return 130
    finally:
        for server in reversed(started):
            server.stop()
        if started:
            logger.info("servers stopped; data kept in %s", data_dir)


def supervise(env, data_dir, web_host, web_port):
    import honcho.manager
    from honcho.printer import Printer

    honcho.manager.KILL_WAIT = 20  # let a worker finish its current task on Ctrl-C
    concurrency = os.environ.get("RELAY_WORKER_CONCURRENCY", "2")
    bin_dir = Path(sys.executable).parent
    manager = honcho.manager.Manager(Printer(sys.stdout, colour=sys.stdout.isatty()))
    manager.add_process("web", shlex.join(web.command(web_host, web_port)), env=env, cwd=str(BASE_DIR))
    manager.add_process(
        "worker",
        f"{bin_dir / 'celery'} -A relay worker --queues default,audio,training,inference,webhooks "
        f"--concurrency {concurrency} --loglevel INFO --hostname relay@%h",
        env=env,
        cwd=str(BASE_DIR),
    )
    manager.add_process(
        "beat",
        f"{bin_dir / 'celery'} -A relay beat --loglevel INFO --schedule {data_dir / 'celerybeat-schedule'}",
        env=env,
        cwd=str(BASE_DIR),
    )
    print(
        f"\nRelay is starting on http://{web_host}:{web_port}/  (API docs: /api/docs/, admin: /admin/)\n"
        "Press Ctrl-C to stop everything.\n",
        flush=True,
    )
    manager.loop()
    # 130: stopped by Ctrl-C, and everything shut down as it should.
    return 0 if manager.returncode == 130 else manager.returncode or 0


if __name__ == "__main__":
    sys.exit(main())
