"""Object storage. The only module that imports boto3.

Works against AWS S3 and S3-compatible servers (SeaweedFS, MinIO, ...): the endpoint,
region, credentials and addressing style come from settings. Failures to reach the
server raise StorageUnavailable (a domain `Unavailable`: 503 on the API, a retry in workers).
"""

import functools
import io
import itertools
import logging
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, IncompleteReadError
from django.conf import settings

from relay.errors import Unavailable

logger = logging.getLogger(__name__)


class StorageUnavailable(Unavailable):
    default_message = "Object storage unavailable; try again shortly"


class ObjectMissing(Exception):
    pass


def _config(**overrides):
    options = {
        "region_name": settings.S3_REGION,
        "signature_version": "s3v4",
        "s3": {"addressing_style": settings.S3_ADDRESSING_STYLE},
        "connect_timeout": settings.RELAY_DEPENDENCY_TIMEOUT,
        "read_timeout": 60,
        "retries": {"max_attempts": 3, "mode": "standard"},
    }
    options.update(overrides)
    return Config(**options)


def _client(endpoint_url, **config):
    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=settings.S3_REGION,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
        config=_config(**config),
    )


@functools.cache
def client():
    """The client the servers use (thread-safe; one per process)."""
    return _client(settings.S3_ENDPOINT_URL)


@functools.cache
def presign_client():
    """Signs URLs for clients, with the public endpoint when it differs."""
    return _client(settings.S3_PUBLIC_ENDPOINT_URL)


def _unavailable(error):
    logger.error("object storage unavailable: %s", error)
    return StorageUnavailable()


def ensure_bucket():
    """Create the bucket if it does not exist (used by `make run` and the tests)."""
    try:
        client().head_bucket(Bucket=settings.S3_BUCKET)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        create = {"Bucket": settings.S3_BUCKET}
        if settings.S3_REGION != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": settings.S3_REGION}
        client().create_bucket(**create)
        logger.info("created bucket %s", settings.S3_BUCKET)


@functools.cache
def _check_client():
    return _client(
        settings.S3_ENDPOINT_URL,
        connect_timeout=settings.RELAY_DEPENDENCY_TIMEOUT,
        read_timeout=settings.RELAY_DEPENDENCY_TIMEOUT,
        retries={"max_attempts": 1},
    )


def check():
    """Raise unless the bucket answers within the dependency timeout."""
    _check_client().head_bucket(Bucket=settings.S3_BUCKET)


_reachable_until = 0.0


def ensure_reachable(every_s=10.0):
    """StorageUnavailable unless the bucket answered within the last `every_s` seconds
    (asked again when it is older): before handing out a URL that needs storage."""
    global _reachable_until
    if time.monotonic() < _reachable_until:
        return
    try:
        check()
    except (BotoCoreError, ClientError) as error:
        raise _unavailable(error) from error
    _reachable_until = time.monotonic() + every_s


def head(key):
    """Size and content type of an object, or ObjectMissing."""
    try:
        response = client().head_object(Bucket=settings.S3_BUCKET, Key=key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise ObjectMissing(key) from None
        raise _unavailable(error) from error
    except (BotoCoreError, EndpointConnectionError) as error:
        raise _unavailable(error) from error
    return {"size": response["ContentLength"], "content_type": response.get("ContentType", "")}


def upload_problem(key, *, size, content_type, size_field="file_size"):
    """What is wrong with an uploaded object against its declaration (None if nothing);
    ObjectMissing if nothing was uploaded. The presigned POST already binds both, so a
    problem here means the upload went around it."""
    found = head(key)
    if found["size"] != size:
        return f"the uploaded object is {found['size']} bytes but {size_field} was declared as {size}"
    if found["content_type"] and found["content_type"].lower() != content_type:
        return f"the uploaded object is {found['content_type']} but content_type was declared as {content_type}"
    return None


def delete_prefix(prefix):
    """Delete every object under a prefix; returns how many were deleted."""
    if not prefix or not prefix.endswith("/"):
        raise ValueError("refusing to delete a prefix that does not end in '/'")
    deleted = 0
    paginator = client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=settings.S3_BUCKET, Prefix=prefix):
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            client().delete_objects(Bucket=settings.S3_BUCKET, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted


def _call(method, **kwargs):
    """Call the S3 client; unreachable storage becomes StorageUnavailable."""
    try:
        return getattr(client(), method)(Bucket=settings.S3_BUCKET, **kwargs)
    except (EndpointConnectionError, BotoCoreError) as error:
        raise _unavailable(error) from error


def presigned_post(key, *, content_type, size, expires_in):
    """A browser-style POST upload bound to this key, this Content-Type and exactly `size` bytes."""
    post = presign_client().generate_presigned_post(
        Bucket=settings.S3_BUCKET,
        Key=key,
        Fields={"Content-Type": content_type},
        Conditions=[{"Content-Type": content_type}, ["content-length-range", size, size]],
        ExpiresIn=expires_in,
    )
    return post["url"], post["fields"]


def content_disposition(filename):
    """`attachment` with the file's name: control characters dropped, an ASCII fallback
    and the exact name in RFC 5987 form (a name can never break the header)."""
    printable = "".join(c for c in filename if c.isprintable())
    fallback = "".join(c if c.isascii() and c not in '"\\' else "_" for c in printable) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(printable, safe='')}"


def presigned_get(key, *, expires_in, filename=None):
    params = {"Bucket": settings.S3_BUCKET, "Key": key}
    if filename:
        params["ResponseContentDisposition"] = content_disposition(filename)
    return presign_client().generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in)


def create_multipart(key, *, content_type):
    return _call("create_multipart_upload", Key=key, ContentType=content_type)["UploadId"]


def presigned_part(key, *, upload_id, part_number, expires_in):
    return presign_client().generate_presigned_url(
        "upload_part",
        Params={"Bucket": settings.S3_BUCKET, "Key": key, "UploadId": upload_id, "PartNumber": part_number},
        ExpiresIn=expires_in,
    )


class MultipartRejected(Exception):
    """S3 refused to assemble the parts (wrong ETag, missing or too small part...)."""


def complete_multipart(key, *, upload_id, parts):
    try:
        _call(
            "complete_multipart_upload",
            Key=key,
            UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": p["part_number"], "ETag": p["etag"]} for p in parts]},
        )
    except ClientError as error:
        raise MultipartRejected(error.response.get("Error", {}).get("Message") or str(error)) from None


def abort_multipart(key, *, upload_id):
    try:
        _call("abort_multipart_upload", Key=key, UploadId=upload_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("NoSuchUpload", "404"):
            raise


# Parallel parts for large objects, with bounded buffers (4 x 8 MB) in worker processes.
TRANSFER = TransferConfig(multipart_threshold=16 * 1024 * 1024, multipart_chunksize=8 * 1024 * 1024, max_concurrency=4)


def download(key, path):
    """Stream an object to a local file."""
    try:
        client().download_file(settings.S3_BUCKET, key, str(path), Config=TRANSFER)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise ObjectMissing(key) from None
        raise


@contextmanager
def arriving(key, folder):
    """`with arriving(key, folder) as stream:` a seekable read-only file of the object that
    can be read while it downloads (into `folder`): a read waits only for the bytes it
    needs, so decoding overlaps the download. ObjectMissing if there is no such object.

    The first part comes alone, the rest in up to `_Arriving.PARTS` ranged GETs at once:
    one GET may be slow to get going (SeaweedFS takes a good part of a second on a large
    object), while the reader needs the start first and the rest only later."""
    response = _first_part(key)
    size = _object_size(response)
    if size <= _Arriving.CHUNK:  # one chunk: nothing to overlap, no thread to start
        try:
            yield io.BytesIO(response["Body"].read())
        finally:
            response["Body"].close()
        return
    parts = list(_parts(key, size, response))
    stream = _Arriving(Path(folder) / "arriving", size, [(start, end) for start, end, _ in parts])
    fetchers = [
        threading.Thread(target=stream.fill, args=(start, end, body), name=f"download-{key}", daemon=True)
        for start, end, body in parts
    ]
    for fetcher in fetchers:
        fetcher.start()
    try:
        # Decoders read a few KB at a time: buffered, most reads skip the wait for arrival.
        yield io.BufferedReader(stream, buffer_size=_Arriving.READ_BUFFER)
    finally:
        stream.close()
        for fetcher in fetchers:
            fetcher.join()


def _first_part(key):
    try:
        try:
            return _call("get_object", Key=key, Range=f"bytes=0-{_Arriving.FIRST_PART - 1}")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "InvalidRange":
                raise
            return _call("get_object", Key=key)  # an empty object has no byte range
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise ObjectMissing(key) from None
        raise


def _object_size(response):
    content_range = response.get("ContentRange")  # "bytes 0-N/size"; absent when the whole object came
    return int(content_range.rsplit("/", 1)[1]) if content_range else response["ContentLength"]


def _parts(key, size, first):
    """(start, end, body or a GET to make) of each part: the first response's, then the rest in equal ranges."""
    first_end = size if not first.get("ContentRange") else min(size, _Arriving.FIRST_PART)
    yield 0, first_end, first["Body"]
    rest = size - first_end
    count = min(_Arriving.PARTS, -(-rest // _Arriving.FIRST_PART))
    bounds = [first_end + rest * i // count for i in range(count + 1)] if count else []
    for start, end in itertools.pairwise(bounds):
        # IfMatch: a part of another version of the object fails (and the work is retried).
        get = functools.partial(_call, "get_object", Key=key, Range=f"bytes={start}-{end - 1}", IfMatch=first["ETag"])
        yield start, end, get


class _Arriving(io.RawIOBase):
    """A file being written by `fill` on other threads, one part each, readable meanwhile
    (see `arriving`)."""

    CHUNK = 1 << 20
    READ_BUFFER = 1 << 18
    FIRST_PART = 16 << 20
    PARTS = 3  # ranged GETs after the first part

    def __init__(self, path, size, parts):
        super().__init__()
        self.size, self._position, self._error = size, 0, None
        self._ends = dict(parts)  # part start -> part end
        self._arrived = dict.fromkeys(self._ends, 0)  # part start -> bytes of the part written so far
        self._changed = threading.Condition()
        path.touch()
        self._reader = open(path, "rb")  # noqa: SIM115 (closed by close())
        self._path = path

    def fill(self, start, end, body):
        """Write bytes [start, end) of the object from `body` (a streaming body, or a call
        that returns a GET response) at their place in the file."""
        try:
            if callable(body):
                body = body()["Body"]
            with open(self._path, "r+b") as out:
                out.seek(start)
                for chunk in body.iter_chunks(self.CHUNK):
                    if self.closed:
                        return
                    out.write(chunk)
                    out.flush()
                    with self._changed:
                        self._arrived[start] += len(chunk)
                        self._changed.notify_all()
            if self._arrived[start] != end - start:
                raise IncompleteReadError(actual_bytes=self._arrived[start], expected_bytes=end - start)
        except (BotoCoreError, ClientError, OSError) as error:
            with self._changed:
                self._error = _unavailable(error)
                self._changed.notify_all()
        finally:
            if not callable(body):
                body.close()

    def readable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self):
        return self._position

    def readinto(self, buffer):
        """Up to the end of the part holding the position (a short read past it is allowed)."""
        end = min(self._position + len(buffer), self.size)
        if end <= self._position:
            return 0
        with self._changed:
            self._changed.wait_for(lambda: self._readable_to(end) is not None or self._error is not None)
            end = self._readable_to(end)
            if end is None:
                raise self._error
        self._reader.seek(self._position)
        count = self._reader.readinto(memoryview(buffer)[: end - self._position])
        self._position += count
        return count

    def _readable_to(self, end):
        """Where a read from the position may end (at most `end`) once its bytes are there, else None."""
        for start, part_end in self._ends.items():
            if start <= self._position < part_end:
                end = min(end, part_end)
                return end if start + self._arrived[start] >= end else None
        return None

    def close(self):
        if not self.closed:
            self._reader.close()
        super().close()


def upload(path, key, *, content_type):
    """Store a local file (one PUT when small, parallel parts when large)."""
    if Path(path).stat().st_size < TRANSFER.multipart_threshold:
        with open(path, "rb") as body:
            _call("put_object", Key=key, Body=body, ContentType=content_type)
        return
    client().upload_file(str(path), settings.S3_BUCKET, key, ExtraArgs={"ContentType": content_type}, Config=TRANSFER)


def put_bytes(key, data, *, content_type):
    _call("put_object", Key=key, Body=data, ContentType=content_type)


def get_bytes(key):
    try:
        return _call("get_object", Key=key)["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            raise ObjectMissing(key) from None
        raise


def delete(key):
    _call("delete_object", Key=key)
