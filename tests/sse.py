"""A Server-Sent Events reader for tests: frames of a streamed `requests` response."""

import json

import requests


def frames(response):
    """Each frame as a dict of its fields (`id`, `event`, `data` parsed as JSON), and each
    comment as `{"comment": text}`, in order."""
    frame = {}
    for line in response.iter_lines(decode_unicode=True):
        if line == "":
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            yield {"comment": line[1:].strip()}
        else:
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            frame[name] = json.loads(value) if name == "data" else value


def open_stream(base_url, path, raw_key, *, after=None, last_event_id=None, timeout=30, **params):
    headers = {"X-API-Key": raw_key, "Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    if after:
        params["after"] = after
    return requests.get(f"{base_url}/api/v1{path}", headers=headers, params=params, stream=True, timeout=timeout)


def read_events(response, count=None, until=None):
    """Events (the `data` of each frame) until `count` were read, `until(event)` is true,
    or the stream ends."""
    found = []
    for frame in frames(response):
        if "data" not in frame:
            continue
        assert frame["id"] == frame["data"]["cursor"] and frame["event"] == frame["data"]["type"], frame
        found.append(frame["data"])
        if (count is not None and len(found) >= count) or (until is not None and until(frame["data"])):
            break
    return found
