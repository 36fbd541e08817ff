"""Continuous inference on a folder: new audio files are sent to inference as they appear
(once their size stopped changing), results are written beside them (or under `out`),
and a state file records every batch before it is sent, so that after a restart nothing is
sent twice: an unfinished batch is resumed with the same Idempotency-Keys, which the server
answers with the job and upload tickets it already made."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from pathlib import Path

from relay_client import uploads as _uploads
from relay_client.errors import JobFailed, RelayError
from relay_client.results import Results
from relay_client.sniff import content_type_of

logger = logging.getLogger("relay_client")
STATE_NAME = ".relay-watch.json"


class State:
    def __init__(self, path):
        self.path = Path(path)
        self.data = {"files": {}, "batches": {}}
        if self.path.is_file():
            self.data.update(json.loads(self.path.read_text()))

    @property
    def files(self):
        return self.data["files"]

    @property
    def batches(self):
        return self.data["batches"]

    def save(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(temporary, self.path)


def output_path(out_dir, rel, fmt):
    suffix = {"csv": ".csv", "json": ".json", "audacity": ".txt"}[fmt]
    return Path(out_dir) / f"{rel}{suffix}"


class Watcher:
    def __init__(
        self,
        relay,
        model,
        folder,
        out=None,
        *,
        fmt="csv",
        config=None,
        state=None,
        batch_size=20,
        log=print,
        progress=False,
    ):
        self.relay = relay
        self.model = model if isinstance(model, str) else model["id"]
        self.folder = Path(folder)
        self.out = Path(out) if out else self.folder
        self.fmt = fmt
        self.config = config
        self.state = State(state or self.out / STATE_NAME)
        self.batch_size = batch_size
        self.log = log
        self.progress = progress
        self.sizes = {}  # rel -> size at the previous scan

    def scan(self, require_stable=True):
        """New files whose size did not change since the previous scan."""
        if not self.folder.is_dir():
            raise FileNotFoundError(f"no such folder: {self.folder}")
        found = []
        out_resolved = self.out.resolve()
        batched = {rel for batch in self.state.batches.values() for rel in batch["files"]}
        for path in _uploads.expand_paths([self.folder]):
            if out_resolved != self.folder.resolve() and out_resolved in path.resolve().parents:
                continue
            rel = path.relative_to(self.folder).as_posix()
            if rel in self.state.files or rel in batched:
                continue
            size = path.stat().st_size
            stable = self.sizes.get(rel) == size or not require_stable
            self.sizes[rel] = size
            if stable and size > 0:
                found.append(rel)
        return found

    def record(self, rels):
        """Write a batch to the state file before anything is sent; its key."""
        key = uuid.uuid4().hex
        self.state.batches[key] = {"files": rels, "job_id": None, "file_ids": {}}
        self.state.save()
        return key

    def process(self, key):
        """Create (or replay) the batch's job, upload (or replay) its files, wait, write."""
        batch = self.state.batches[key]
        rels = batch["files"]
        if batch["job_id"]:
            job = self.relay.get_inference_job(batch["job_id"])
        else:
            body = {"model_id": self.model, "expected_files": len(rels)}
            if self.config:
                body["config"] = self.config
            job = self.relay.transport.json("POST", "/inference-jobs", json=body, idempotency_key=f"watch-{key}-job")
        batch["job_id"] = job["id"]
        self.state.save()
        paths = {}
        for rel in rels:
            path = self.folder / rel
            if rel in batch["file_ids"]:
                paths[batch["file_ids"][rel]] = path
                continue
            size, content_type = path.stat().st_size, content_type_of(path)
            # A restart replays this ticket (same key, same body): the same file, never a second one.
            ticket = self.relay.transport.json(
                "POST",
                f"/inference-jobs/{job['id']}/files/upload-url",
                json={"filename": path.name, "file_size_bytes": size, "content_type": content_type},
                idempotency_key=f"watch-{key}-{hashlib.sha256(rel.encode()).hexdigest()[:32]}",
            )
            file_id = ticket["file_id"]
            _uploads.post_form(
                self.relay.transport, ticket["upload_url"], ticket["upload_fields"], path, path.name, content_type
            )
            self.relay.confirm_inference_file(job["id"], file_id)
            batch["file_ids"][rel] = file_id
            self.state.save()
            paths[file_id] = path
        self.log(f"sent {len(rels)} file(s) to inference job {job['id']}")
        try:
            job = self.relay.wait(job, progress=self.progress, raise_on_failure=True)
        except JobFailed as error:
            self.log(f"inference job {job['id']} did not complete: {error}")
        files = {f["id"]: f for f in self.relay.iter_inference_files(job["id"])}
        for rel in rels:
            file_id = batch["file_ids"].get(rel)
            record = files.get(file_id)
            entry = {"job_id": job["id"], "file_id": file_id, "status": record["status"] if record else "missing"}
            if record is not None:
                target = output_path(self.out, rel, self.fmt)
                Results([job], [record], {file_id: self.folder / rel}).save(target, self.fmt)
                entry.update(output=str(target), detections=record.get("detection_count", 0))
                if record["status"] == "failed":
                    entry["error"] = record.get("error_message")
                self.log(f"{rel}: {entry['status']}, {entry.get('detections', 0)} detection(s) -> {target}")
            self.state.files[rel] = entry
        del self.state.batches[key]
        self.state.save()

    def run(self, interval=5.0, once=False):
        """Resume unfinished batches, then watch (forever, or one pass with `once`)."""
        while True:
            for key in list(self.state.batches):
                self._attempt(key, once)
            new = self.scan(require_stable=not once)
            for start in range(0, len(new), self.batch_size):
                self._attempt(self.record(new[start : start + self.batch_size]), once)
            if once:
                return self.state
            time.sleep(interval)

    def _attempt(self, key, once):
        try:
            self.process(key)
        except RelayError as error:
            if once:
                raise
            self.log(f"error (tried again at the next scan): {error}")
