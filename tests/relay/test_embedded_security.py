"""The embedded servers of `make run` and the tests: only the S3 port, with its keys, and
the broker, with its password, let anyone on the machine in."""

import subprocess
import urllib.error
import urllib.request

import pytest
import redis

from relay import storage
from relay.embedded.servers import SeaweedS3
from tests import servers


def seaweed():
    found = [server for server in servers._stack.started if isinstance(server, SeaweedS3)]
    if not found:
        pytest.skip("S3_ENDPOINT_URL points at an S3 server of the machine's, not the embedded one")
    return found[0]


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.django_db
def test_the_components_http_apis_give_no_object_data():
    weed = seaweed()
    storage.put_bytes("tests/secret.txt", b"tenant data", content_type="text/plain")
    for name, port in weed.component_ports.items():
        for path in ("/dir/assign", f"/buckets/{storage.settings.S3_BUCKET}/tests/secret.txt", "/buckets/"):
            status, body = http_status(f"http://127.0.0.1:{port}{path}")
            assert b"tenant data" not in body and status != 200 or path == "/", (name, path, status)


def list_buckets(weed, cwd, timeout):
    """What `weed shell` lists of /buckets, run in `cwd` (weed reads security.toml from there)."""
    master, filer = weed.component_ports["master"], weed.component_ports["filer"]
    try:
        listing = subprocess.run(
            [SeaweedS3.executable(), "shell", f"-master=127.0.0.1:{master}", f"-filer=127.0.0.1:{filer}"],
            input="fs.ls /buckets\n",
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as stuck:  # it keeps retrying a connection that is refused
        return stuck.stdout or ""
    return listing.stdout


@pytest.mark.django_db
def test_the_components_grpc_ports_refuse_a_client_without_the_stacks_certificate(tmp_path):
    weed = seaweed()
    storage.ensure_bucket()
    assert storage.settings.S3_BUCKET in list_buckets(weed, weed.data_dir, 60)  # with the certificate
    assert storage.settings.S3_BUCKET not in list_buckets(weed, tmp_path, 10)  # a stranger's client


def test_the_broker_wants_its_password():
    from django.conf import settings

    url = redis.connection.parse_url(settings.CELERY_BROKER_URL)
    if not url.get("password"):
        pytest.skip("CELERY_BROKER_URL points at a broker of the machine's, not the embedded one")
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(host=url["host"], port=url["port"], socket_connect_timeout=2).ping()
