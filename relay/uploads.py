"""One presigned-upload flow for dataset audio and inference files.

    declare (a pending row and a presigned POST bound to its key, Content-Type and exact
    size) -> the client POSTs the file to S3 -> confirm (the object is verified, then the
    kind queues it) -> the worker; or, when the upload URL expires first: the object is
    confirmed if it arrived after all (nothing is lost), else the file fails.

Kinds register how a verified upload is queued (`register`): dataset audio just queues,
an inference file does so under its job's lock.
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.db import models, transaction
from django.utils import timezone

from detector.audio import suffix_for
from relay import metrics, storage, work
from relay.errors import Conflict, DomainError, InvalidInput

logger = logging.getLogger(__name__)

PENDING = "pending"
MAX_EXPIRES_S = 24 * 3600  # the longest an upload URL may live (a request may ask for 60 s to this)
CONCURRENT_CHECKS = 8  # HEADs in flight while a batch of uploads is confirmed
EXPIRED = "nothing was uploaded before the upload URL expired"
_queue_functions = {}
_UNASKED = object()


class UploadedFile(work.WorkItem):
    """A work item whose input is a file uploaded to S3 under `storage_key`."""

    filename = models.CharField(max_length=500)
    content_type = models.CharField(max_length=100)
    file_size = models.BigIntegerField(null=True, blank=True)
    storage_key = models.CharField(max_length=1024)
    upload_expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self):
        return self.filename

    @property
    def object_prefix(self):
        """Every object of this file (the original and what workers derive from it) is under here."""
        return self.storage_key.rsplit("/", 1)[0] + "/"


def register(model, queue):
    """`queue(items)` moves verified pending uploads of `model` on (and sends their tasks)."""
    _queue_functions[model] = queue


def original_key(prefix, item_id, content_type):
    return f"{prefix}{item_id}/original{suffix_for(content_type)}"


def expiry(expires_in):
    return timezone.now() + timedelta(seconds=expires_in)


def presign(item, expires_in):
    """(url, fields) of a POST that can fill this item's object, and nothing else; a 503
    (StorageUnavailable) rather than a URL that cannot work while storage is down."""
    storage.ensure_reachable()
    return storage.presigned_post(
        item.storage_key, content_type=item.content_type, size=item.file_size, expires_in=expires_in
    )


def discard(item, reason):
    """Fail a pending upload and remove what was stored for it."""
    with transaction.atomic():
        failed = work.fail(type(item), item.pk, reason, from_=[PENDING])
        if failed:
            work.delete_objects_on_commit(item.object_prefix)
    return failed


def inspect(items) -> dict:
    """{pk: what storage holds for the item}: None when its object is as declared, a
    problem (text), or ObjectMissing. Objects are asked for concurrently (a HEAD each);
    StorageUnavailable if storage is down."""

    def one(item):
        try:
            return storage.upload_problem(item.storage_key, size=item.file_size, content_type=item.content_type)
        except storage.ObjectMissing as missing:
            return missing

    if len(items) <= 1:
        return {item.pk: one(item) for item in items}
    with ThreadPoolExecutor(min(len(items), CONCURRENT_CHECKS)) as pool:
        return dict(zip([item.pk for item in items], pool.map(one, items), strict=True))


def verify(item, *, loc, found=_UNASKED):
    """The object must be there with the declared size and type: a Conflict while nothing
    was uploaded, InvalidInput at `loc` (and the file failed) if it differs. `found`: what
    `inspect` said of it, when already asked."""
    found = inspect([item])[item.pk] if found is _UNASKED else found
    if isinstance(found, storage.ObjectMissing):
        message = "no uploaded object yet: POST the file to upload_url (or complete the multipart upload) first"
        # Left on the pending file too, for whoever looks at it later.
        type(item).objects.filter(pk=item.pk, status=PENDING).update(error_message=f"confirm: {message}")
        raise Conflict(f"{item.filename} has {message}")
    if found:
        discard(item, found)
        raise InvalidInput.at(loc, found, "value_error.upload_mismatch")


def confirm(item, *, loc):
    """Verify and queue a pending upload. Idempotent: any other item is returned as it is."""
    confirmed, error = confirm_many([item], [loc])[0]
    if error is not None:
        raise error
    return confirmed


def confirm_many(items, locs) -> list:
    """`confirm` of several items of one kind, each on its own, with their objects checked
    concurrently and the verified ones queued together: [(item, None) or (None, DomainError)]
    in the order given. StorageUnavailable (for all) if storage is down."""
    found = inspect([item for item in items if item.status == PENDING])
    outcomes, verified = {}, []
    for item, loc in zip(items, locs, strict=True):
        if item.status != PENDING:
            outcomes[item.pk] = (item, None)
            continue
        try:
            verify(item, loc=loc, found=found[item.pk])
            verified.append(item)
        except DomainError as error:
            outcomes[item.pk] = (None, error)
    if verified:
        model = type(verified[0])
        _queue_functions[model](verified)
        fresh = model.objects.in_bulk([item.pk for item in verified])
        for item in verified:
            metrics.count_upload(item.lifecycle.kind, item.file_size)
            logger.info("upload confirmed %s=%s", item.lifecycle.kind, item.pk)
            outcomes[item.pk] = (fresh[item.pk], None)
    return [outcomes[item.pk] for item in items]


def expire_uploads(now=None, limit=500):
    """Beat: each pending upload whose URL has expired is confirmed if its object arrived
    after all, and failed otherwise."""
    now = now or timezone.now()
    counts = {"confirmed": 0, "failed": 0}
    for model, queue in _queue_functions.items():
        expired = model.objects.filter(status=PENDING, upload_expires_at__lt=now).order_by("upload_expires_at")
        for item in expired[:limit]:
            outcome = _expire(item, queue)
            if outcome:
                counts[outcome] += 1
    if any(counts.values()):
        logger.info("expired uploads: %s", counts)
    return counts


def _expire(item, queue):
    upload_id = getattr(item, "multipart_upload_id", "")
    if upload_id:
        storage.abort_multipart(item.storage_key, upload_id=upload_id)
        type(item).objects.filter(pk=item.pk).update(multipart_upload_id="")
        return "failed" if discard(item, "multipart upload not completed before its URLs expired") else None
    try:
        found = storage.head(item.storage_key)
    except storage.ObjectMissing:
        return "failed" if work.fail(type(item), item.pk, EXPIRED, from_=[PENDING]) else None
    if found["size"] != item.file_size:
        return "failed" if discard(item, "the uploaded object does not have the declared size") else None
    try:
        queue([item])
    except Conflict as refused:  # e.g. its inference job has finished
        return "failed" if discard(item, f"uploaded but not confirmed in time: {refused}") else None
    return "confirmed"
