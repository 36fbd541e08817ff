"""The client and the `relay` command against the served app (uvicorn, tests/conftest.py's
`web_server`) with real S3 and, where jobs run, the real worker."""

import csv
import os
import shutil
import subprocess
import sys

import pytest

from training import demo_data

KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")
FILES = 6
SECONDS = 55  # 5.5 minutes in all: above the 5 minutes training asks for


@pytest.fixture(scope="session")
def audio_folder(tmp_path_factory):
    """Generated recordings (WAV and FLAC at several rates, one FLAC named .wav) and their
    labels as a CSV by filename."""
    folder = tmp_path_factory.mktemp("recordings")
    (folder / "sub").mkdir()
    rows = []
    for index, demo in enumerate(demo_data.generate(5, FILES, SECONDS, kinds=KINDS)):
        name = demo.filename
        if index == 3:
            name = name.replace(".flac", ".wav")  # FLAC bytes behind a .wav name: the client sniffs them
        target = folder / ("sub" if index >= 4 else "") / name
        target.write_bytes(demo.data)
        rows += [{"filename": name, "artifact_type": k, "start_ms": s, "end_ms": e} for k, s, e in demo.events]
    (folder / "notes.txt").write_text("not audio: folders upload audio files only\n")
    labels = tmp_path_factory.mktemp("labels") / "labels.csv"
    with open(labels, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["filename", "artifact_type", "start_ms", "end_ms"])
        writer.writeheader()
        writer.writerows(rows)
    return {"folder": folder, "labels": labels, "annotations": len(rows)}


@pytest.fixture
def recordings(audio_folder, tmp_path):
    """A copy of the recordings a test may change."""
    copy = tmp_path / "recordings"
    shutil.copytree(audio_folder["folder"], copy)
    return copy


@pytest.fixture
def relay_env(api, web_server):
    return {**os.environ, "RELAY_API_URL": web_server, "RELAY_API_KEY": api.raw_key, "RELAY_CONFIG": "/nonexistent"}


@pytest.fixture
def relay(relay_env):
    from relay_client import Relay

    with Relay(relay_env["RELAY_API_URL"], relay_env["RELAY_API_KEY"]) as client:
        yield client


@pytest.fixture
def cli(relay_env, tmp_path):
    """Run `relay ARGS...` (python -m relay_client) as a script would: the completed process;
    `--json` output parsed into `.data`."""

    def run(*args, expect=0, env=None, timeout=300):
        process = subprocess.run(
            [sys.executable, "-m", "relay_client", *map(str, args)],
            env={**relay_env, **(env or {})},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert expect is None or process.returncode == expect, (
            args,
            process.returncode,
            process.stdout[-2000:],
            process.stderr[-3000:],
        )
        process.data = None
        if "--json" in args and process.stdout.strip():
            import json

            process.data = json.loads(process.stdout)
        return process

    return run
