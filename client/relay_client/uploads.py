"""Uploading files: dataset audio (presigned POST, or multipart above a size) and inference
files, in parallel threads, with one progress bar for bytes and one for files. Files
already in the dataset with the same filename and size are skipped, so running an
interrupted upload again sends only what is missing."""

from __future__ import annotations

import glob
import os
import threading
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tqdm.auto import tqdm

from relay_client.errors import Conflict, NotFound, RelayConnectionError, RelayError, error_for_status
from relay_client.sniff import content_type_of, is_audio

MULTIPART_THRESHOLD = 64 * 1024 * 1024
PRESENT = frozenset({"uploaded", "normalizing", "embedding", "ready"})


@dataclass
class UploadResult:
    path: Path
    filename: str
    size: int
    content_type: str
    status: str  # "uploaded", "skipped" (already there), "failed" (see error)
    id: str | None = None  # the audio file's (or inference file's) id
    error: str | None = None
    record: dict | None = field(default=None, repr=False)


def expand_paths(paths, recursive=True):
    """Files named by `paths`: files as they are, folders walked (audio files only, hidden
    ones left out), globs expanded (`**` recurses). Sorted, without duplicates."""
    found, seen = [], set()

    def add(path):
        path = Path(path)
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.append(path)

    for raw in paths:
        raw = str(raw)
        matches = sorted(glob.glob(os.path.expanduser(raw), recursive=True)) if glob.has_magic(raw) else [raw]
        if not matches:
            raise FileNotFoundError(f"no file matches {raw}")
        for match in matches:
            path = Path(match).expanduser()
            if path.is_dir():
                walker = path.rglob("*") if recursive else path.glob("*")
                for child in sorted(walker):
                    if child.is_file() and not any(p.startswith(".") for p in child.relative_to(path).parts):
                        if is_audio(child):
                            add(child)
            elif path.is_file():
                add(path)
            else:
                raise FileNotFoundError(f"no such file or folder: {path}")
    return found


class _Reader:
    """A file whose reads move a progress bar (a retried upload reads again from the
    start: what it had counted is taken back)."""

    def __init__(self, path, bar, lock, start=0, length=None):
        self.handle = open(path, "rb")
        self.start, self.length = start, length
        self.handle.seek(start)
        self.bar, self.lock, self.counted = bar, lock, 0

    def _count(self, n):
        if self.bar is not None and n:
            with self.lock:
                self.bar.update(n)
        self.counted += n

    def read(self, size=-1):
        if self.length is not None:
            left = self.start + self.length - self.handle.tell()
            size = left if size is None or size < 0 else min(size, left)
        data = self.handle.read(size)
        self._count(len(data))
        return data

    def __iter__(self):
        while chunk := self.read(256 * 1024):
            yield chunk

    def seek(self, offset, whence=0):
        self._count(-self.counted)
        return self.handle.seek(self.start + offset if whence == 0 else offset, whence) - self.start

    def tell(self):
        return self.handle.tell() - self.start

    def close(self):
        self.handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _s3_send(transport, method, url, build, what):
    """POST a presigned form or PUT a part, retried on network errors and 5xx. `build()`
    gives (kwargs, reader); the answer."""
    attempt = 0
    while True:
        kwargs, reader = build()
        try:
            response = transport.s3.request(method, url, **kwargs)
        except httpx.TransportError as error:
            response, failure = None, f"{type(error).__name__}: {error}"
        finally:
            reader.close()
        if response is not None and response.status_code < 300:
            return response
        if response is not None:
            failure = f"HTTP {response.status_code}: {response.text[:300]}"
            retriable = response.status_code >= 500 or response.status_code == 429
        else:
            retriable = True
        if retriable and attempt < transport.max_retries:
            transport._wait(attempt, f"S3 {what}: {failure}", response)
            attempt += 1
            continue
        if response is None:
            raise RelayConnectionError(None, f"S3 {what} failed: {failure}", method=method, url=url.split("?")[0])
        raise error_for_status(response.status_code)(
            response.status_code, f"S3 refused the {what}: {response.text[:500]}", method=method, url=url.split("?")[0]
        )


def post_form(transport, url, fields, path, filename, content_type, bar=None, lock=None):
    """POST a file to a presigned S3 form: its fields first, then the file (S3 answers 204)."""

    def build():
        reader = _Reader(path, bar, lock or threading.Lock())
        return {"data": dict(fields), "files": {"file": (filename, reader, content_type)}}, reader

    return _s3_send(transport, "POST", url, build, "upload")


def put_part(transport, url, path, start, length, bar=None, lock=None):
    def build():
        reader = _Reader(path, bar, lock or threading.Lock(), start=start, length=length)
        return {"content": reader, "headers": {"Content-Length": str(length)}}, reader

    response = _s3_send(transport, "PUT", url, build, "part upload")
    etag = response.headers.get("ETag")
    if not etag:
        raise RelayError(None, "S3 answered a part upload without an ETag (is it exposed by the bucket's CORS?)")
    return etag


class Uploader:
    """The parallel loop shared by dataset and inference uploads."""

    def __init__(self, transport, *, workers=4, progress=True, on_file=None, desc="upload"):
        self.transport = transport
        self.workers = max(1, workers)
        self.progress = progress
        self.on_file = on_file
        self.desc = desc
        self.lock = threading.Lock()

    def run(self, tasks, send, done_before=()):
        """`tasks`: UploadResults to send with `send(result, bytes_bar)`; `done_before`: results
        already settled (skipped). Calls `on_file(result)` as each finishes; an exception there
        (or Ctrl-C) stops the upload: files not started are not sent."""
        results = list(done_before)
        total_files = len(tasks) + len(results)
        files_bar = tqdm(
            total=total_files,
            initial=len(results),
            desc=f"{self.desc} files",
            unit="file",
            disable=not self.progress,
            position=0,
            leave=True,
        )
        bytes_bar = tqdm(
            total=sum(t.size for t in tasks),
            desc=f"{self.desc} bytes",
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            disable=not self.progress,
            position=1,
            leave=True,
        )
        if self.on_file:
            for result in results:
                self.on_file(result)
        executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="relay-upload")
        pending = {}
        queue = list(tasks)
        try:
            while queue or pending:
                while queue and len(pending) < self.workers:
                    task = queue.pop(0)
                    pending[executor.submit(self._send, send, task, bytes_bar)] = task
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = pending.pop(future)
                    future.result()
                    results.append(task)
                    files_bar.update(1)
                    if task.status == "failed":
                        files_bar.write(f"failed: {task.path}: {task.error}")
                    if self.on_file:
                        self.on_file(task)
        finally:
            executor.shutdown(wait=True, cancel_futures=True)
            bytes_bar.close()
            files_bar.close()
        return results

    def _send(self, send, task, bytes_bar):
        try:
            send(task, bytes_bar)
            task.status = "uploaded"
        except (RelayError, OSError) as error:
            task.status, task.error = "failed", str(error)


def plan_dataset_upload(relay, dataset_id, files, skip_existing=True):
    """(to send, already there): files whose filename and size match a dataset file that was
    uploaded are skipped; a pending match (its upload was interrupted) is confirmed if its
    object reached S3, else deleted and sent again; failed files of the same name are
    deleted (a name then names one file, as imports by filename need)."""
    existing = {}
    if skip_existing:
        for audio in relay.iter_audio(dataset_id):
            existing.setdefault(audio["filename"], []).append(audio)
    to_send, skipped = [], []
    for path in files:
        size = path.stat().st_size
        result = UploadResult(path, path.name, size, content_type_of(path), "pending")
        same_name = existing.get(path.name, [])
        present = [a for a in same_name if a["file_size"] == size and a["processing_status"] in PRESENT]
        if present:
            result.status, result.id, result.record = "skipped", present[0]["id"], present[0]
            skipped.append(result)
            continue
        resumed = None
        for audio in same_name:
            if audio["processing_status"] == "pending" and audio["file_size"] == size and resumed is None:
                try:
                    relay.confirm_audio(dataset_id, audio["id"])
                    resumed = audio
                    continue
                except Conflict:
                    pass  # nothing reached S3: send it again
            if audio["processing_status"] in ("pending", "failed"):
                try:
                    relay.delete_audio(dataset_id, audio["id"])
                except (NotFound, Conflict):
                    pass
        if resumed is not None:
            result.status, result.id, result.record = "skipped", resumed["id"], resumed
            skipped.append(result)
        else:
            to_send.append(result)
    return to_send, skipped


def upload_dataset_audio(relay, dataset_id, result, bar, lock, multipart_threshold=MULTIPART_THRESHOLD, part_size=None):
    """Send one file to a dataset and confirm it (sets `result.id`)."""
    transport = relay.transport
    if result.size > multipart_threshold:
        ticket = relay.create_multipart_upload(
            dataset_id, result.filename, result.content_type, result.size, part_size=part_size
        )
        result.id = ticket["audio_id"]
        try:
            parts = []
            for part in ticket["parts"]:
                start = (part["part_number"] - 1) * ticket["part_size"]
                etag = put_part(transport, part["url"], result.path, start, part["size"], bar, lock)
                parts.append({"part_number": part["part_number"], "etag": etag})
            relay.complete_multipart_upload(dataset_id, result.id, parts)
        except BaseException:
            try:
                relay.abort_multipart_upload(dataset_id, result.id)
            except RelayError:
                pass
            raise
    else:
        ticket = relay.create_upload_url(dataset_id, result.filename, result.content_type, result.size)
        result.id = ticket["audio_id"]
        post_form(
            transport,
            ticket["upload_url"],
            ticket["fields"],
            result.path,
            result.filename,
            result.content_type,
            bar,
            lock,
        )
    relay.confirm_audio(dataset_id, result.id)


def upload_inference_file(relay, job_id, result, bar, lock):
    ticket = relay.create_inference_upload_url(job_id, result.filename, result.size, result.content_type)
    result.id = ticket["file_id"]
    post_form(
        relay.transport,
        ticket["upload_url"],
        ticket["upload_fields"],
        result.path,
        result.filename,
        result.content_type,
        bar,
        lock,
    )
    result.record = relay.confirm_inference_file(job_id, result.id)
