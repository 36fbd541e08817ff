"""`Relay`: one method per operation of the API, and helpers for the multi-step flows
(upload, train and wait, infer)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from relay_client import config as _config
from relay_client import uploads as _uploads
from relay_client import waiting as _waiting
from relay_client._http import Obj, Transport
from relay_client.errors import RelayError
from relay_client.results import Results
from relay_client.sniff import content_type_of

READY_STATES = frozenset({"ready", "failed"})


def _id(value):
    """An object of the API (its `id`) or an id."""
    if isinstance(value, dict):
        return str(value["id"])
    return str(value)


def _drop_none(**fields):
    return {k: v for k, v in fields.items() if v is not None}


def _artifact_type(value):
    if isinstance(value, str):
        return {"name": value}
    return {k: v for k, v in dict(value).items() if k in ("name", "description", "color") and v is not None}


class Relay:
    """A client of one Relay server and API key.

        relay = Relay()                                  # RELAY_API_URL, RELAY_API_KEY or the config file
        relay = Relay("http://127.0.0.1:8000", "rk_...")

    Every method raises a `RelayError` subclass (with `status` and `detail`) when the API
    answers an error; 429, 503 and network errors are retried first (honouring
    `Retry-After`). Objects come back as dicts whose keys also read as attributes."""

    def __init__(self, api_url=None, api_key=None, *, profile=None, timeout=60.0, max_retries=6, **transport):
        settings = _config.resolve(api_url, api_key, profile=profile)
        self.api_url = settings.api_url
        self.transport = Transport(
            settings.api_url, settings.api_key, timeout=timeout, max_retries=max_retries, **transport
        )

    def close(self):
        self.transport.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"Relay({self.api_url!r})"

    # Shorthands ----------------------------------------------------------------------
    def _get(self, path, params=None):
        return self.transport.json("GET", path, params=params)

    def _post(self, path, body=None, params=None, idempotency_key=None):
        return self.transport.json(
            "POST", path, json=body if body is not None else {}, params=params, idempotency_key=idempotency_key
        )

    def _patch(self, path, body):
        return self.transport.json("PATCH", path, json=body)

    def _delete(self, path):
        self.transport.request("DELETE", path)

    def _page(self, path, params, page, page_size):
        return self._get(path, {**params, "page": page, "page_size": page_size})

    def _iter(self, path, params, limit=None):
        return self.transport.pages(path, params, limit=limit)

    # Platform ------------------------------------------------------------------------
    def health(self):
        return self._get("/health")

    def status(self):
        """Dependencies as the server sees them (a degraded server answers 503: its body is
        returned all the same)."""
        response = self.transport.request("GET", "/status", ok=(200, 503), retry=False)
        return Obj(response.json())

    def info(self):
        return self._get("/info")

    def now(self):
        return self._get("/now")

    def jobs_count(self):
        return self._get("/jobs/count")

    def workers(self, start=0, limit=50):
        return self._get("/workers", {"start": start, "limit": limit})

    def workers_count(self):
        return self._get("/workers/count")

    # API keys ------------------------------------------------------------------------
    def list_api_keys(self, page=1, page_size=50):
        return self._page("/api-keys", {}, page, page_size)

    def iter_api_keys(self):
        return self._iter("/api-keys", {})

    def get_api_key(self, key_id):
        return self._get(f"/api-keys/{_id(key_id)}")

    def create_api_key(self, name=None, scopes=None, expires_at=None):
        """The new key with its secret in `key` (shown in this answer only)."""
        return self._post("/api-keys", _drop_none(name=name, scopes=scopes, expires_at=expires_at))

    def revoke_api_key(self, key_id):
        return self._post(f"/api-keys/{_id(key_id)}/revoke")

    # Datasets ------------------------------------------------------------------------
    def list_datasets(self, name=None, ordering=None, page=1, page_size=50, **filters):
        return self._page("/datasets", _drop_none(name=name, ordering=ordering, **filters), page, page_size)

    def iter_datasets(self, name=None, ordering=None, **filters):
        return self._iter("/datasets", _drop_none(name=name, ordering=ordering, **filters))

    def get_dataset(self, dataset):
        return self._get(f"/datasets/{_id(dataset)}")

    def find_dataset(self, name_or_id):
        """A dataset by id, or by its exact name (NotFound if none, ValueError if several)."""
        text = str(name_or_id)
        if len(text) == 36 and text.count("-") == 4:
            return self.get_dataset(text)
        found = [d for d in self.iter_datasets(name=text) if d["name"] == text]
        if not found:
            from relay_client.errors import NotFound

            raise NotFound(404, f"no dataset named {text!r}")
        if len(found) > 1:
            raise ValueError(f"{len(found)} datasets are named {text!r}: give the id")
        return found[0]

    def create_dataset(self, name, artifact_types=(), description=None):
        """`artifact_types`: names or dicts (`name`, `color` like `#4363D8`, `description`)."""
        body = _drop_none(name=name, description=description)
        body["artifact_types"] = [_artifact_type(t) for t in artifact_types]
        return self._post("/datasets", body)

    def update_dataset(self, dataset, name=None, description=None, artifact_types=None):
        """`artifact_types` is the full new list (missing types are removed). Types given by
        name keep their current colour and description."""
        body = _drop_none(name=name, description=description)
        if artifact_types is not None:
            current = {t["name"]: t for t in self.get_dataset(dataset)["artifact_types"]}
            types = []
            for value in artifact_types:
                item = _artifact_type(value)
                kept = current.get(item["name"])
                if kept:  # the server resets what a PATCH leaves out
                    item = {"color": kept["color"], "description": kept["description"], **item}
                types.append(item)
            body["artifact_types"] = types
        return self._patch(f"/datasets/{_id(dataset)}", body)

    def delete_dataset(self, dataset):
        self._delete(f"/datasets/{_id(dataset)}")

    def artifact_types(self, dataset):
        return self.get_dataset(dataset)["artifact_types"]

    def add_artifact_types(self, dataset, *types):
        """Add types (names or dicts), keeping those already there with their colours."""
        current = self.artifact_types(dataset)
        names = {t["name"] for t in current}
        new = [_artifact_type(t) for t in types if _artifact_type(t)["name"] not in names]
        return self.update_dataset(dataset, artifact_types=[*current, *new])

    # Audio ---------------------------------------------------------------------------
    def list_audio(self, dataset, page=1, page_size=50, **filters):
        return self._page(f"/datasets/{_id(dataset)}/audio", _drop_none(**filters), page, page_size)

    def iter_audio(self, dataset, **filters):
        return self._iter(f"/datasets/{_id(dataset)}/audio", _drop_none(**filters))

    def get_audio(self, dataset, audio):
        return self._get(f"/datasets/{_id(dataset)}/audio/{_id(audio)}")

    def delete_audio(self, dataset, audio):
        self._delete(f"/datasets/{_id(dataset)}/audio/{_id(audio)}")

    def create_upload_url(self, dataset, filename, content_type, file_size, expires_in=None):
        body = _drop_none(filename=filename, content_type=content_type, file_size=file_size, expires_in=expires_in)
        return self._post(f"/datasets/{_id(dataset)}/audio/upload-url", body)

    def confirm_audio(self, dataset, audio):
        return self._post(f"/datasets/{_id(dataset)}/audio/confirm", {"audio_id": _id(audio)})

    def create_multipart_upload(self, dataset, filename, content_type, file_size, part_size=None, expires_in=None):
        body = _drop_none(
            filename=filename,
            content_type=content_type,
            file_size=file_size,
            part_size=part_size,
            expires_in=expires_in,
        )
        return self._post(f"/datasets/{_id(dataset)}/audio/multipart", body)

    def complete_multipart_upload(self, dataset, audio, parts):
        return self._post(
            f"/datasets/{_id(dataset)}/audio/multipart/complete", {"audio_id": _id(audio), "parts": parts}
        )

    def abort_multipart_upload(self, dataset, audio):
        return self._post(f"/datasets/{_id(dataset)}/audio/multipart/abort", {"audio_id": _id(audio)})

    def upload(
        self,
        dataset,
        paths,
        *,
        workers=4,
        progress=True,
        skip_existing=True,
        wait=False,
        timeout=None,
        multipart_threshold=_uploads.MULTIPART_THRESHOLD,
        part_size=None,
        on_file=None,
    ):
        """Upload files, folders (recursed) or globs to a dataset; the UploadResults.

        The content type comes from each file's bytes. Files above `multipart_threshold` go
        as multipart uploads. Files already in the dataset with the same filename and size
        are skipped (status "skipped"), so an interrupted upload resumes. `on_file(result)`
        is called as each file finishes; an exception there stops the upload. With `wait`,
        returns once every file is `ready` or `failed` (see `result.record`)."""
        dataset_id = _id(dataset)
        files = _uploads.expand_paths([paths] if isinstance(paths, (str, Path)) else paths)
        to_send, skipped = _uploads.plan_dataset_upload(self, dataset_id, files, skip_existing)
        lock = threading.Lock()
        uploader = _uploads.Uploader(self.transport, workers=workers, progress=progress, on_file=on_file)

        def send(result, bar):
            _uploads.upload_dataset_audio(self, dataset_id, result, bar, lock, multipart_threshold, part_size)

        results = uploader.run(to_send, send, skipped)
        if wait:
            ids = [r.id for r in results if r.id and r.status != "failed"]
            final = {a["id"]: a for a in self.wait_audio(dataset_id, ids, timeout=timeout, progress=progress)}
            for result in results:
                if result.id in final:
                    result.record = final[result.id]
        return results

    def wait_audio(self, dataset, audio_ids, *, timeout=None, progress=True, poll_s=0.5):
        """Wait until the files are `ready` or `failed`; their final records."""
        from tqdm.auto import tqdm

        dataset_id, left, done = _id(dataset), [_id(a) for a in audio_ids], {}
        deadline = time.monotonic() + timeout if timeout else None
        bar = tqdm(total=len(left), desc="processing", unit="file", disable=not progress)
        try:
            while left:
                for start in range(0, len(left), 200):
                    for audio in self._iter(f"/datasets/{dataset_id}/audio", {"id": left[start : start + 200]}):
                        if audio["processing_status"] in READY_STATES:
                            done[audio["id"]] = audio
                            bar.update(1)
                left = [a for a in left if a not in done]
                if left:
                    if deadline is not None and time.monotonic() > deadline:
                        raise TimeoutError(f"{len(left)} file(s) not processed after {timeout} s")
                    time.sleep(poll_s)
                    poll_s = min(poll_s * 1.5, 5.0)
        finally:
            bar.close()
        return [done[a] for a in (_id(x) for x in audio_ids) if a in done]

    # Annotation sets and annotations -------------------------------------------------
    def list_annotation_sets(self, dataset, status=None, ordering=None, page=1, page_size=50):
        path = f"/datasets/{_id(dataset)}/annotation-sets"
        return self._page(path, _drop_none(status=status, ordering=ordering), page, page_size)

    def iter_annotation_sets(self, dataset, status=None, ordering=None):
        return self._iter(f"/datasets/{_id(dataset)}/annotation-sets", _drop_none(status=status, ordering=ordering))

    def get_annotation_set(self, dataset, annotation_set):
        return self._get(f"/datasets/{_id(dataset)}/annotation-sets/{_id(annotation_set)}")

    def find_annotation_set(self, dataset, version_or_id):
        """A set by id, by version (`3`, `v3`), or `latest` / `draft` (the newest draft)."""
        text = str(version_or_id)
        if text in ("latest", "draft"):
            sets = list(
                self.iter_annotation_sets(dataset, status="draft" if text == "draft" else None, ordering="-version")
            )
            if not sets:
                from relay_client.errors import NotFound

                raise NotFound(404, f"the dataset has no {'draft ' if text == 'draft' else ''}annotation set")
            return sets[0]
        if text.lstrip("v").isdigit():
            version = int(text.lstrip("v"))
            for item in self.iter_annotation_sets(dataset):
                if item["version"] == version:
                    return item
            from relay_client.errors import NotFound

            raise NotFound(404, f"the dataset has no annotation set v{version}")
        return self.get_annotation_set(dataset, text)

    def create_annotation_set(
        self, dataset, name=None, from_version=None, from_inference_job=None, min_confidence=None
    ):
        body = _drop_none(
            name=name,
            from_version=from_version,
            min_confidence=min_confidence,
            from_inference_job=_id(from_inference_job) if from_inference_job else None,
        )
        return self._post(f"/datasets/{_id(dataset)}/annotation-sets", body)

    def delete_annotation_set(self, dataset, annotation_set):
        self._delete(f"/datasets/{_id(dataset)}/annotation-sets/{_id(annotation_set)}")

    def publish(self, dataset, annotation_set):
        """Publish a draft: it locks for good (its stats are computed)."""
        return self._post(f"/datasets/{_id(dataset)}/annotation-sets/{_id(annotation_set)}/publish")

    def _set_path(self, dataset, annotation_set):
        return f"/datasets/{_id(dataset)}/annotation-sets/{_id(annotation_set)}"

    def list_annotations(self, dataset, annotation_set, page=1, page_size=50, **filters):
        return self._page(
            f"{self._set_path(dataset, annotation_set)}/annotations", _drop_none(**filters), page, page_size
        )

    def iter_annotations(self, dataset, annotation_set, **filters):
        return self._iter(f"{self._set_path(dataset, annotation_set)}/annotations", _drop_none(**filters))

    def create_annotation(
        self, dataset, annotation_set, audio_file, artifact_type, start_ms, end_ms, confidence=None, extra_data=None
    ):
        body = _drop_none(
            audio_file_id=_id(audio_file),
            artifact_type=artifact_type,
            start_ms=start_ms,
            end_ms=end_ms,
            confidence=confidence,
            extra_data=extra_data,
        )
        return self._post(f"{self._set_path(dataset, annotation_set)}/annotations", body)

    def update_annotation(self, dataset, annotation_set, annotation, **fields):
        return self._patch(f"{self._set_path(dataset, annotation_set)}/annotations/{_id(annotation)}", fields)

    def delete_annotation(self, dataset, annotation_set, annotation):
        self._delete(f"{self._set_path(dataset, annotation_set)}/annotations/{_id(annotation)}")

    def bulk_create_annotations(self, dataset, annotation_set, annotations, chunk=10_000):
        """Create many annotations (dicts as for create_annotation), 10,000 per call; how many."""
        created = 0
        items = list(annotations)
        for start in range(0, len(items), chunk):
            body = {"annotations": items[start : start + chunk]}
            created += self._post(f"{self._set_path(dataset, annotation_set)}/annotations/bulk", body)["created"]
        return created

    def import_annotations(self, dataset, annotation_set, source, format=None, audio_file=None):
        """Import a file (path or bytes) into a draft: json, jsonl, csv, audacity,
        label-studio, edge-impulse (from the file's suffix when not given). The result
        (`created`, `annotation_set`)."""
        if isinstance(source, (str, Path)):
            path = Path(source)
            data = path.read_bytes()
            format = format or {
                ".csv": "csv",
                ".json": "json",
                ".jsonl": "jsonl",
                ".txt": "audacity",
                ".zip": "audacity",
            }.get(path.suffix.lower())
        else:
            data = bytes(source)
        if not format:
            raise ValueError("give the format: json, jsonl, csv, audacity, label-studio or edge-impulse")
        content_type = {
            "csv": "text/csv",
            "json": "application/json",
            "jsonl": "application/x-ndjson",
            "label-studio": "application/json",
            "edge-impulse": "application/json",
        }.get(format, "application/octet-stream")
        if format == "audacity" and data[:2] == b"PK":
            content_type = "application/zip"
        elif format == "audacity":
            content_type = "text/plain"
        response = self.transport.request(
            "POST",
            f"{self._set_path(dataset, annotation_set)}/import",
            params=_drop_none(format=format, audio_file_id=_id(audio_file) if audio_file else None),
            content=data,
            headers={"Content-Type": content_type},
        )
        return Obj(response.json())

    def export_annotations(self, dataset, annotation_set, format="csv", path=None, audio_file=None):
        """The set in a format (bytes), written to `path` when given."""
        response = self.transport.request(
            "GET",
            f"{self._set_path(dataset, annotation_set)}/export",
            params=_drop_none(format=format, audio_file_id=_id(audio_file) if audio_file else None),
        )
        if path is not None:
            Path(path).write_bytes(response.content)
        return response.content

    # Training ------------------------------------------------------------------------
    def create_training_job(
        self, dataset, annotation_set, artifact_types=None, *, config=None, name=None, client_reference=None, **settings
    ):
        """`config` as the API takes it, or `artifact_types` plus settings (epochs, seed, ...).
        Without artifact_types, every type of the dataset."""
        config = dict(config or {})
        config.update(settings)
        if artifact_types is not None:
            config["artifact_types"] = list(artifact_types)
        config.setdefault("artifact_types", [t["name"] for t in self.artifact_types(dataset)])
        body = _drop_none(
            dataset_id=_id(dataset),
            annotation_set_id=_id(annotation_set),
            name=name,
            client_reference=client_reference,
            config=config,
        )
        return self._post("/training-jobs", body)

    def train(self, dataset, annotation_set, artifact_types=None, *, wait=True, progress=True, timeout=None, **kw):
        """Create a training job and (by default) wait for it; the job (its `model_id`)."""
        job = self.create_training_job(dataset, annotation_set, artifact_types, **kw)
        return self.wait(job, progress=progress, timeout=timeout) if wait else job

    def list_training_jobs(self, page=1, page_size=50, **filters):
        return self._page("/training-jobs", _drop_none(**filters), page, page_size)

    def iter_training_jobs(self, **filters):
        return self._iter("/training-jobs", _drop_none(**filters))

    def get_training_job(self, job):
        return self._get(f"/training-jobs/{_id(job)}")

    def cancel_training_job(self, job):
        return self._post(f"/training-jobs/{_id(job)}/cancel")

    # Models and evaluations ----------------------------------------------------------
    def list_models(self, page=1, page_size=50, **filters):
        return self._page("/models", _drop_none(**filters), page, page_size)

    def iter_models(self, **filters):
        return self._iter("/models", _drop_none(**filters))

    def get_model(self, model):
        return self._get(f"/models/{_id(model)}")

    def update_model(self, model, name):
        return self._patch(f"/models/{_id(model)}", {"name": name})

    def delete_model(self, model):
        self._delete(f"/models/{_id(model)}")

    def download_model(self, model, path):
        """Save the model artifact (runs with `python -m detector detect`); the path."""
        response = self.transport.request("GET", f"/models/{_id(model)}/download", ok=(200, 301, 302, 303, 307))
        if response.is_redirect:
            response = self.transport.s3.get(response.headers["Location"])
            response.raise_for_status()
        Path(path).write_bytes(response.content)
        return Path(path)

    def create_evaluation(self, model, annotation_set, audio_file_ids=None):
        body = _drop_none(
            annotation_set_id=_id(annotation_set),
            audio_file_ids=[_id(a) for a in audio_file_ids] if audio_file_ids else None,
        )
        return self._post(f"/models/{_id(model)}/evaluations", body)

    def list_evaluations(self, model, page=1, page_size=50, **filters):
        return self._page(f"/models/{_id(model)}/evaluations", _drop_none(**filters), page, page_size)

    def get_evaluation(self, model, evaluation):
        return self._get(f"/models/{_id(model)}/evaluations/{_id(evaluation)}")

    # Inference -----------------------------------------------------------------------
    def create_inference_job(self, model, config=None, audio_file_ids=None, client_reference=None, expected_files=None):
        """`config`: threshold, merge_window_ms, min_duration_ms (omit them for the values
        calibrated per type with the model: usually best)."""
        body = _drop_none(
            model_id=_id(model),
            config=config,
            client_reference=client_reference,
            expected_files=expected_files,
            audio_file_ids=[_id(a) for a in audio_file_ids] if audio_file_ids else None,
        )
        return self._post("/inference-jobs", body)

    def create_inference_jobs(self, bodies):
        """POST /inference-jobs/batch: each body answered on its own (`results`)."""
        return self._post("/inference-jobs/batch", {"jobs": list(bodies)})

    def list_inference_jobs(self, page=1, page_size=50, **filters):
        return self._page("/inference-jobs", _drop_none(**filters), page, page_size)

    def iter_inference_jobs(self, **filters):
        return self._iter("/inference-jobs", _drop_none(**filters))

    def get_inference_job(self, job):
        return self._get(f"/inference-jobs/{_id(job)}")

    def cancel_inference_job(self, job):
        return self._post(f"/inference-jobs/{_id(job)}/cancel")

    def list_inference_files(self, job, page=1, page_size=50, **filters):
        return self._page(f"/inference-jobs/{_id(job)}/files", _drop_none(**filters), page, page_size)

    def iter_inference_files(self, job, **filters):
        return self._iter(f"/inference-jobs/{_id(job)}/files", _drop_none(**filters))

    def get_inference_file(self, job, file):
        return self._get(f"/inference-jobs/{_id(job)}/files/{_id(file)}")

    def create_inference_upload_url(self, job, filename, file_size, content_type, expires_in=None):
        body = _drop_none(
            filename=filename, file_size_bytes=file_size, content_type=content_type, expires_in=expires_in
        )
        return self._post(f"/inference-jobs/{_id(job)}/files/upload-url", body)

    def confirm_inference_file(self, job, file):
        return self._post(f"/inference-jobs/{_id(job)}/files/confirm", {"file_id": _id(file)})

    def upload_inference_files(self, job, paths, *, workers=4, progress=True, on_file=None):
        """Add files (paths, folders, globs) to an inference job; the UploadResults."""
        files = _uploads.expand_paths([paths] if isinstance(paths, (str, Path)) else paths)
        tasks = [_uploads.UploadResult(p, p.name, p.stat().st_size, content_type_of(p), "pending") for p in files]
        lock = threading.Lock()
        uploader = _uploads.Uploader(self.transport, workers=workers, progress=progress, on_file=on_file)
        return uploader.run(
            tasks, lambda result, bar: _uploads.upload_inference_file(self, _id(job), result, bar, lock)
        )

    def results(self, job, format="json", file=None):
        """GET .../results in a format (json, csv, audacity, label-studio, label-studio-config):
        the bytes as the server writes them."""
        response = self.transport.request(
            "GET", f"/inference-jobs/{_id(job)}/results", params=_drop_none(format=format, file_id=file and _id(file))
        )
        return response.content

    def job_results(self, job, paths=None):
        """The job's files with their detections, as `Results` (rows, DataFrame, save)."""
        files = list(self.iter_inference_files(job))
        return Results([self.get_inference_job(job)], files, paths)

    def plot(self, job, file):
        """The PNG of a file: waveform and spectrogram with its detections."""
        return self.transport.request("GET", f"/inference-jobs/{_id(job)}/files/{_id(file)}/plot.png").content

    def save_plot(self, job, file, path):
        Path(path).write_bytes(self.plot(job, file))
        return Path(path)

    def infer(
        self, model, paths, *, config=None, wait=True, progress=True, timeout=None, client_reference=None, workers=4
    ):
        """Run a model over local files (paths, folders, globs): create a job expecting them,
        upload them, wait, and return the `Results` (without `wait`, the job)."""
        files = _uploads.expand_paths([paths] if isinstance(paths, (str, Path)) else paths)
        if not files:
            raise ValueError("no audio files to run inference on")
        job = self.create_inference_job(
            model, config=config, client_reference=client_reference, expected_files=len(files)
        )
        uploaded = self.upload_inference_files(job, files, workers=workers, progress=progress)
        failed = [r for r in uploaded if r.status == "failed"]
        if failed:
            # The job expects every file: without them it would wait until their upload URLs
            # expire. Cancel it and say which files could not be sent.
            self.cancel_inference_job(job)
            listed = "; ".join(f"{r.path}: {r.error}" for r in failed[:5])
            raise RelayError(
                None,
                f"{len(failed)} of {len(uploaded)} file(s) could not be uploaded ({listed}); "
                f"inference job {job['id']} was cancelled",
            )
        if not wait:
            return job
        job = self.wait(job, progress=progress, timeout=timeout, raise_on_failure=False)
        if job["status"] in ("failed", "cancelled"):
            from relay_client.errors import JobFailed

            raise JobFailed(job)
        return self.job_results(job, {r.id: r.path for r in uploaded if r.id})

    # Jobs ----------------------------------------------------------------------------
    def wait(self, job, *, kind=None, timeout=None, progress=True, events=True, raise_on_failure=True):
        """Wait until a training job, inference job or evaluation ends; the job. Follows the
        job's event stream where there is one, else polls with backoff. Raises JobFailed when it
        failed or was cancelled (unless raise_on_failure=False), TimeoutError after `timeout`."""
        if kind is None:
            if not isinstance(job, dict):
                raise ValueError("give a job object, or kind='training'|'inference'|'evaluation'")
            if "stage" in job:
                kind = "training"
            elif "total_files" in job:
                kind = "inference"
            elif "audio_file_ids" in job and "model_id" in job:
                kind = "evaluation"
            else:
                raise ValueError("cannot tell the kind of this job: pass kind=")
        if kind == "evaluation":
            kind = f"/models/{job['model_id']}/evaluations/{{id}}"
        return _waiting.wait_for(
            self, kind, _id(job), timeout=timeout, progress=progress, events=events, raise_on_failure=raise_on_failure
        )

    # Events and webhooks -------------------------------------------------------------
    def events(self, after=None, type=None, object_id=None, limit=100):
        """One page of events: `items`, `next_cursor` (pass as `after`), `has_more`."""
        return self._get("/events", _drop_none(after=after, type=type, object_id=object_id, limit=limit))

    def iter_events(self, after=None, type=None, object_id=None):
        """Every event after the cursor that exists now."""
        while True:
            page = self.events(after=after, type=type, object_id=object_id, limit=500)
            yield from page["items"]
            after = page["next_cursor"] or after
            if not page["has_more"]:
                return

    def stream_events(self, after=None, type=None, object_id=None, path="/events/stream"):
        """Events as they happen (Server-Sent Events), forever: reconnects where it stopped
        (`Last-Event-ID`) when the connection ends. `path` may name a job's stream
        (`/training-jobs/{id}/events`), which ends after the job's final event."""
        import httpx

        from relay_client.waiting import sse_frames

        params = _drop_none(type=type, object_id=object_id)
        cursor, attempt = after, 0
        while True:
            headers = {"Accept": "text/event-stream", **({"Last-Event-ID": cursor} if cursor else {})}
            try:
                with self.transport.http.stream(
                    "GET",
                    self.transport.url(path),
                    params=params,
                    headers=headers,
                    timeout=httpx.Timeout(120.0, connect=10.0),
                ) as response:
                    if response.status_code == 204:
                        return
                    if response.status_code != 200:
                        response.read()
                        error = self.transport.error(response, "GET", self.transport.url(path))
                        if response.status_code not in (429, 502, 503, 504):
                            raise error
                        raise httpx.TransportError(str(error))
                    attempt = 0
                    for frame in sse_frames(response.iter_lines()):
                        if "data" in frame:
                            event = Obj(json.loads(frame["data"]))
                            cursor = frame.get("id") or event.get("cursor") or cursor
                            yield event
            except httpx.TransportError as error:
                if attempt >= self.transport.max_retries:
                    raise
                self.transport._wait(attempt, f"event stream: {error}")
                attempt += 1

    def list_webhooks(self, page=1, page_size=50):
        return self._page("/webhooks", {}, page, page_size)

    def create_webhook(self, url, event_types=None, description=None, enabled=None):
        return self._post(
            "/webhooks", _drop_none(url=url, event_types=event_types, description=description, enabled=enabled)
        )

    def delete_webhook(self, webhook):
        self._delete(f"/webhooks/{_id(webhook)}")
