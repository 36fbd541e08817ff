"""Waiting for a job to end, with a progress bar: the job's event stream (Server-Sent
Events) when the server has one for it, else polling with backoff."""

from __future__ import annotations

import json
import logging
import time

import httpx
from tqdm.auto import tqdm

from relay_client.errors import JobFailed, RelayError

logger = logging.getLogger("relay_client")

FINAL = frozenset({"completed", "failed", "cancelled"})
# The job kinds: (path of the job, path of its event stream or None).
KINDS = {
    "training": ("/training-jobs/{id}", "/training-jobs/{id}/events"),
    "inference": ("/inference-jobs/{id}", "/inference-jobs/{id}/events"),
}


def sse_frames(lines):
    """Server-Sent Events frames from lines: dicts with `id`, `event`, `data` (JSON)."""
    frame = {}
    for line in lines:
        if line == "":
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            continue
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "data":
                frame["data"] = frame.get("data", "") + value
            else:
                frame[name] = value
    if frame:
        yield frame


class _Bar:
    def __init__(self, desc, enabled):
        self.bar = tqdm(total=100, desc=desc, unit="%", disable=not enabled, bar_format=None)

    def show(self, state):
        progress = state.get("progress")
        if isinstance(progress, (int, float)):
            self.bar.n = round(100 * min(max(progress, 0.0), 1.0), 1)
        what = [str(state[k]) for k in ("status", "stage") if state.get(k)]
        if state.get("epoch") is not None:
            what.append(f"epoch {state['epoch']}")
        if state.get("total_files") is not None:
            what.append(f"{state.get('processed_files', 0)}/{state['total_files']} files")
        self.bar.set_postfix_str(" ".join(what), refresh=False)
        self.bar.refresh()

    def close(self):
        self.bar.close()


def follow_stream(transport, path, job_id, bar, deadline, cursor=None):
    """Read the job's stream until it ends; the last cursor. Raises on errors."""
    headers = {"Accept": "text/event-stream"}
    if cursor:
        headers["Last-Event-ID"] = cursor
    timeout = httpx.Timeout(60.0, connect=10.0)
    if deadline is not None:
        timeout = httpx.Timeout(max(1.0, min(60.0, deadline - time.monotonic())), connect=10.0)
    with transport.http.stream("GET", transport.url(path), headers=headers, timeout=timeout) as response:
        if response.status_code == 204:
            return cursor, True
        if response.status_code != 200:
            response.read()
            raise transport.error(response, "GET", transport.url(path))
        for frame in sse_frames(response.iter_lines()):
            if "data" not in frame:
                continue
            event = json.loads(frame["data"])
            cursor = frame.get("id") or event.get("cursor") or cursor
            if event.get("object_id") == job_id:
                bar.show(event.get("data") or {})
                if event.get("type", "").rsplit(".", 1)[-1] in FINAL:
                    return cursor, True
            if deadline is not None and time.monotonic() > deadline:
                break
    return cursor, False


def wait_for(relay, kind, job_id, *, timeout=None, progress=True, events=True, raise_on_failure=True, poll_s=0.5):
    """The job once it has ended (`completed`, `failed` or `cancelled`); JobFailed when it did
    not complete (unless raise_on_failure=False); TimeoutError after `timeout` seconds."""
    transport = relay.transport
    if kind in KINDS:
        job_path, events_path = (p.format(id=job_id) if p else None for p in KINDS[kind])
    else:
        job_path, events_path = kind.format(id=job_id), None
    deadline = time.monotonic() + timeout if timeout else None
    bar = _Bar(f"{kind} {str(job_id)[:8]}", progress)
    try:
        job = transport.json("GET", job_path)
        bar.show(job)
        cursor, use_stream, interval = None, events and events_path is not None, poll_s
        while job["status"] not in FINAL:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"{kind} job {job_id} still {job['status']} after {timeout} s")
            if use_stream:
                try:
                    cursor, ended = follow_stream(transport, events_path, str(job_id), bar, deadline, cursor)
                    if not ended:
                        time.sleep(poll_s)  # the stream closed early (its time limit): read, then go on
                except (RelayError, httpx.HTTPError, ValueError) as error:
                    logger.info("event stream unavailable (%s): polling instead", error)
                    use_stream = False
            else:
                time.sleep(interval)
                interval = min(interval * 1.5, 5.0)
            job = transport.json("GET", job_path)
            bar.show(job)
    finally:
        bar.close()
    if raise_on_failure and job["status"] != "completed":
        raise JobFailed(job)
    return job
