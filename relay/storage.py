"""Object storage. The only module that imports boto3.

Works against AWS S3 and S3-compatible servers (SeaweedFS, MinIO, ...): the endpoint,
region, credentials and addressing style come from settings. Failures to reach the
server raise StorageUnavailable, which the API answers with 503.
"""

import functools
import logging

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from django.conf import settings

from relay.api.exceptions import ServiceUnavailable

logger = logging.getLogger(__name__)


class StorageUnavailable(ServiceUnavailable):
    default_detail = "Object storage unavailable; try again shortly"


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


def check():
    """Raise unless the bucket answers within the dependency timeout."""
    quick = _client(
        settings.S3_ENDPOINT_URL,
        connect_timeout=settings.RELAY_DEPENDENCY_TIMEOUT,
        read_timeout=settings.RELAY_DEPENDENCY_TIMEOUT,
        retries={"max_attempts": 1},
    )
    quick.head_bucket(Bucket=settings.S3_BUCKET)


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
