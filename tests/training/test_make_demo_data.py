"""make_demo_data: progress bars, and the API key from RELAY_API_KEY (--key deprecated)."""

import io

import pytest
from django.core.management import CommandError, call_command

from training import demo_data


def run(*args, **env):
    out, err = io.StringIO(), io.StringIO()
    call_command("make_demo_data", "--files", "2", "--seconds", "2", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def loaded(monkeypatch):
    """The HTTP client and the loading faked: what the command hands them is recorded."""
    seen = {}

    class FakeClient:
        def __init__(self, base_url, key):
            seen.update(base_url=base_url, key=key)

    def fake_load(client, files, name, kinds, log, progress):
        seen["files"] = list(progress(files, desc="uploading", total=len(files), unit="file"))
        log("loaded")
        return {"id": "D"}, {"id": "S"}, {}

    monkeypatch.setattr(demo_data, "HttpClient", FakeClient)
    monkeypatch.setattr(demo_data, "load_into_relay", fake_load)
    return seen


def test_the_key_comes_from_relay_api_key(monkeypatch, loaded):
    monkeypatch.setenv("RELAY_API_KEY", "rk_env_key")
    out, err = run("--api", "http://relay.test:8000")
    assert loaded["key"] == "rk_env_key" and loaded["base_url"] == "http://relay.test:8000"
    assert len(loaded["files"]) == 2
    assert "export DATASET_ID=D SET_ID=S" in out and "rk_env_key" not in out + err
    assert "generating" in err and "uploading" in err and "2/2" in err  # the progress bars
    assert "deprecated" not in err


def test_the_url_may_come_from_relay_api_url(monkeypatch, loaded):
    monkeypatch.setenv("RELAY_API_KEY", "rk_env_key")
    monkeypatch.setenv("RELAY_API_URL", "http://from-env:8000")
    run("--no-progress")
    assert loaded["base_url"] == "http://from-env:8000"


def test_key_on_the_command_line_still_works_with_a_deprecation_warning(monkeypatch, loaded):
    monkeypatch.delenv("RELAY_API_KEY", raising=False)
    _, err = run("--api", "http://relay.test:8000", "--key", "rk_arg", "--no-progress")
    assert loaded["key"] == "rk_arg"
    assert "--key is deprecated" in err and "RELAY_API_KEY" in err
    assert "generating" not in err  # --no-progress


def test_no_key_at_all_says_where_to_put_it(monkeypatch, loaded):
    monkeypatch.delenv("RELAY_API_KEY", raising=False)
    with pytest.raises(CommandError, match="set RELAY_API_KEY"):
        run("--api", "http://relay.test:8000")
    assert "key" not in loaded


def test_out_only_writes_files_and_labels(tmp_path, monkeypatch):
    monkeypatch.delenv("RELAY_API_URL", raising=False)
    out, err = run("--out", str(tmp_path / "demo"))
    assert sorted(p.name for p in (tmp_path / "demo").iterdir())[-2:] == ["labels.csv", "labels.jsonl"]
    assert "wrote 2 recordings" in out and "generating" in err
