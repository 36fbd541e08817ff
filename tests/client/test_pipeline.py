"""The whole path of a new user through the `relay` command and the Python client, against
the served app with real S3 and the real worker: a folder uploaded (and resumed after an
interruption), labels imported from CSV, published, a model trained (`--wait`), inference
(`--out`) compared with the API's own results, plots, and a watched folder."""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.client.conftest import FILES, KINDS

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]


class Stop(Exception):
    pass


def stop_after(count):
    """An `on_file` callback that interrupts an upload once `count` files were sent."""
    sent = []

    def on_file(result):
        if result.status == "uploaded":
            sent.append(result)
            if len(sent) >= count:
                raise Stop

    return on_file, sent


def test_upload_resume_label_train_infer_watch(cli, relay, recordings, audio_folder, celery_worker_process, tmp_path):
    dataset = cli("datasets", "create", "pipeline", *[f"--type={k}" for k in KINDS], "--json").data
    assert [t["name"] for t in dataset["artifact_types"]] == list(KINDS)

    # A first file, by name; then an upload interrupted after one more file.
    first = cli("upload", "pipeline", recordings / "demo-5-000.wav", "--json", "-q").data
    assert first["counts"] == {"uploaded": 1, "skipped": 0, "failed": 0}
    on_file, sent = stop_after(1)
    with pytest.raises(Stop):
        relay.upload(dataset, recordings, workers=1, progress=False, on_file=on_file)
    assert len(sent) == 1
    assert relay.list_audio(dataset)["total"] == 2

    # Running it again sends only what is missing, and waits until the files are decoded.
    done = cli("upload", "pipeline", recordings, "--wait", "--json", "-q").data
    assert done["counts"] == {"uploaded": FILES - 2, "skipped": 2, "failed": 0}, done
    assert {f["processing_status"] for f in done["files"]} == {"ready"}, done["files"]
    by_name = {f["filename"]: f for f in done["files"]}
    mislabelled = next(name for name in by_name if name.endswith("003.wav"))
    assert by_name[mislabelled]["content_type"] == "audio/flac"  # from the bytes, not the name
    audio = list(relay.iter_audio(dataset))
    assert sorted(a["filename"] for a in audio) == sorted(by_name) and len(audio) == FILES

    # Labels from CSV into a new draft, then published.
    imported = cli("annotations", "import", "pipeline", audio_folder["labels"], "--json", "-q").data
    assert imported["created"] == audio_folder["annotations"]
    published = cli("publish", "pipeline", "--json").data
    assert published["status"] == "published" and published["total_annotations"] == audio_folder["annotations"]
    exported = cli("annotations", "export", "pipeline", "--format", "csv").stdout
    assert len(list(csv.DictReader(io.StringIO(exported)))) == audio_folder["annotations"]

    # Train, waiting on the job's event stream.
    job = cli("train", "pipeline", "--epochs", "2", "--seed", "1", "--wait", "--json", "-q", timeout=600).data
    assert job["status"] == "completed" and job["model_id"], job
    # The job's event stream, read again from its start, ends with its final event.
    from relay_client.waiting import _Bar, follow_stream

    cursor, ended = follow_stream(
        relay.transport, f"/training-jobs/{job['id']}/events", job["id"], _Bar("", False), None
    )
    assert ended and cursor
    models = cli("models", "--json").data
    assert [m["id"] for m in models] == [job["model_id"]]

    # Inference on two files, written as CSV, equals what the API gives.
    paths = [recordings / "demo-5-000.wav", recordings / "sub" / "demo-5-005.flac"]
    out = tmp_path / "detections.csv"
    answer = cli("infer", "latest", *paths, "--wait", "--out", out, "--json", "-q", timeout=300).data
    (job_id,) = answer["inference_job_ids"]
    ours = [
        (r["file_id"], r["original_filename"], r["artifact_type"], int(r["start_ms"]), int(r["end_ms"]),
         round(float(r["confidence"]), 4))
        for r in csv.DictReader(out.open())
    ]  # fmt: skip
    theirs = [
        (r["file_id"], r["original_filename"], r["artifact_type"], int(r["start_ms"]), int(r["end_ms"]),
         round(float(r["confidence"]), 4))
        for r in csv.DictReader(io.StringIO(relay.results(job_id, "csv").decode()))
    ]  # fmt: skip
    assert sorted(ours) == sorted(theirs)
    assert {r["path"] for r in csv.DictReader(out.open())} <= {str(p) for p in paths}
    api_files = relay.get_inference_job(job_id)["files"]
    assert sum(f["detection_count"] for f in api_files) == len(ours)
    assert {f["status"] for f in api_files} == {"completed"}

    # JSON and Audacity outputs from the Python client agree too.
    results = relay.job_results(job_id)
    assert len(results) == len(ours)
    labels = results.save(tmp_path / "labels.txt")
    assert len(labels) == 2 and sum(len(p.read_text().splitlines()) for p in labels) == len(ours)

    plots = cli("plot", job_id, "--out", tmp_path / "plots", "--json").data
    assert len(plots) == 2 and all(open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n" for p in plots)
    listed = cli("jobs", "--json").data
    assert {j["id"] for j in listed} >= {job_id, job["id"]}
    assert cli("jobs", "--count", "--json").data["inference"]["total"] >= 1

    # A watched folder: results land beside the files; a second pass sends only the new file.
    watched = tmp_path / "incoming"
    watched.mkdir()
    for path in paths:
        shutil.copy(path, watched / path.name)
    state = cli("watch", "latest", watched, "--once", "--json", "-q", timeout=300).data
    assert set(state) == {p.name for p in paths} and {s["status"] for s in state.values()} == {"completed"}
    for name, entry in state.items():
        assert (watched / f"{name}.csv").is_file() and entry["output"] == str(watched / f"{name}.csv")
    shutil.copy(recordings / "demo-5-002.wav", watched / "later.wav")
    before = relay.list_inference_jobs()["total"]
    state = cli("watch", "latest", watched, "--once", "--json", "-q", timeout=300).data
    assert set(state) == {p.name for p in paths} | {"later.wav"}
    assert relay.list_inference_jobs()["total"] == before + 1
    files_sent = sum(j["total_files"] for j in relay.iter_inference_jobs())
    assert files_sent == 2 + 2 + 1  # infer, first watch pass, second pass: nothing sent twice

    # A watcher killed after creating a batch's job resumes it: the same job, no second one.
    from relay_client.watch import Watcher

    shutil.copy(recordings / "demo-5-001.flac", watched / "crash.flac")
    model = relay.get_model(job["model_id"])
    watcher = Watcher(relay, model, watched, log=lambda *_: None)
    key = watcher.record(["crash.flac"])
    orphan = relay.transport.json(
        "POST",
        "/inference-jobs",
        json={"model_id": model["id"], "expected_files": 1},
        idempotency_key=f"watch-{key}-job",
    )
    state = json.loads((watched / ".relay-watch.json").read_text())
    assert list(state["batches"]) == [key] and state["batches"][key]["job_id"] is None  # killed before it saved
    Watcher(relay, model, watched, log=lambda *_: None).run(once=True)
    state = json.loads((watched / ".relay-watch.json").read_text())
    assert state["batches"] == {} and state["files"]["crash.flac"]["job_id"] == orphan["id"]
    assert relay.list_inference_jobs()["total"] == before + 2
    assert relay.get_inference_job(orphan["id"])["total_files"] == 1


def readme_block(marker):
    """The code block after `<!-- marker -->` in README.md."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    after = text.split(f"<!-- {marker} -->", 1)[1]
    return after.split("```", 2)[1].split("\n", 1)[1]


@pytest.fixture
def quickstart_folder(audio_folder, tmp_path):
    """What the quickstart expects in its folder: recordings/, labels.csv (of its three
    types) and new/ with a FLAC."""
    shutil.copytree(audio_folder["folder"], tmp_path / "recordings")
    with open(audio_folder["labels"]) as source, open(tmp_path / "labels.csv", "w", newline="") as target:
        rows = [row for row in csv.DictReader(source) if row["artifact_type"] in ("glitch", "dropout", "hum")]
        writer = csv.DictWriter(target, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (tmp_path / "new").mkdir()
    flac = next(tmp_path.joinpath("recordings").rglob("*.flac"))
    shutil.copy(flac, tmp_path / "new" / "a.flac")
    shutil.copy(next(tmp_path.joinpath("recordings").glob("*.wav")), tmp_path / "new" / "b.wav")
    return tmp_path


def test_the_readme_quickstart_runs_as_written(relay_env, quickstart_folder, celery_worker_process):
    """Every line of the README's shell quickstart (its `export` aside: the test server's
    address and key are in the environment already), then the Python one with a one-epoch
    training."""
    lines = [line for line in readme_block("quickstart-cli").splitlines() if not line.startswith("export ")]
    env = {**relay_env, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    for line in lines:
        process = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", line], cwd=quickstart_folder, env=env, capture_output=True, text=True
        )
        assert process.returncode == 0, (line, process.stdout[-2000:], process.stderr[-3000:])
    detections = (quickstart_folder / "detections.csv").read_text().splitlines()
    assert detections[0].startswith("path,file_id,original_filename") and len(detections) > 1

    code = readme_block("quickstart-python")
    assert "relay.train(dataset, published)" in code
    code = code.replace("relay.train(dataset, published)", "relay.train(dataset, published, epochs=1)")
    code = code.replace('"podcasts"', '"podcasts-python"')
    code = code.replace("frame = results.to_dataframe()", "")
    os.chdir(quickstart_folder)
    try:
        with pytest.MonkeyPatch.context() as patch:
            for name in ("RELAY_API_URL", "RELAY_API_KEY", "RELAY_CONFIG"):
                patch.setenv(name, relay_env[name])
            exec(compile(code, "README.md quickstart", "exec"), {})
    finally:
        os.chdir(Path(__file__).resolve().parents[2])
    assert (quickstart_folder / "a.png").read_bytes()[:4] == b"\x89PNG"
