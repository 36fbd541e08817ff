"""README.md documents every environment variable the code reads."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests import audio_factory as af

BASE_DIR = Path(__file__).resolve().parent.parent
PATTERNS = [
    re.compile(r"""env\.\w+\(\s*["']([A-Z][A-Z0-9_]+)["']"""),
    re.compile(r"""["']([A-Z][A-Z0-9_]+)["'] (?:not )?in env\b"""),
    re.compile(r"""os\.environ(?:\.get)?[\[(]\s*["']([A-Z][A-Z0-9_]+)["']"""),
]
SOURCES = ["relay/settings.py", "relay/embedded/run.py"]


def variables():
    found = set()
    for source in SOURCES:
        text = (BASE_DIR / source).read_text()
        for pattern in PATTERNS:
            found.update(pattern.findall(text))
    return found - {"DJANGO_SETTINGS_MODULE", "PYTHONUNBUFFERED"}


def test_every_setting_is_documented():
    readme = (BASE_DIR / "README.md").read_text()
    names = variables()
    assert len(names) > 20
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert not missing, f"README.md does not document {missing}"


def test_ci_runs_the_readme_test_command():
    readme = (BASE_DIR / "README.md").read_text()
    ci = (BASE_DIR / ".ci/run").read_text()
    assert "make test" in readme and "make test" in ci


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_readme_upload_script_uploads_and_waits(live_server, api, celery_worker_process, tmp_path):
    """Runs the README's curl upload script against a live server, S3 and a worker."""
    readme = (BASE_DIR / "README.md").read_text()
    script = re.search(r"<!-- upload-script -->\s*```sh\n(.*?)```", readme, re.S).group(1)
    (tmp_path / "upload.sh").write_text(script)
    wav = tmp_path / "take 1.wav"
    wav.write_bytes(af.wav(duration_s=1.75, sample_rate=44100, channels=2))
    dataset = api.post("/datasets", {"name": "readme", "artifact_types": [{"name": "glitch"}]}).json()["id"]
    env = {**os.environ, "RELAY": f"{live_server.url}/api/v1", "KEY": api.raw_key}
    result = subprocess.run(
        ["sh", str(tmp_path / "upload.sh"), str(wav), dataset], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "S3 answered 204" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("ready 1750 ms 44100 Hz 2 channel(s)"), result.stdout
