"""Content types from the bytes, paths from folders and globs, multipart uploads, and
uploads into an inference job, against the served app and the real worker."""

import pytest
from relay_client.sniff import sniff_bytes
from relay_client.uploads import expand_paths

from tests import audio_factory as af

FORMATS = [
    ("audio/wav", lambda: af.wav(0.5)),
    ("audio/wav", lambda: af.wav(0.5, subtype="FLOAT")),
    ("audio/flac", lambda: af.encode_soundfile(af.signal(0.5, 32000), 32000, "FLAC")),
    ("audio/ogg", lambda: af.encode_soundfile(af.signal(0.5, 44100, 2), 44100, "OGG", "VORBIS")),
    ("audio/mpeg", lambda: af.encode_soundfile(af.signal(0.5, 44100), 44100, "MP3")),
    ("audio/mp4", lambda: af.encode_av(af.signal(0.5, 44100, 2), 44100, "mp4", "aac")),
    ("audio/webm", lambda: af.encode_av(af.signal(0.5, 48000), 48000, "webm", "libopus")),
    ("audio/aac", lambda: af.encode_av(af.signal(0.5, 44100), 44100, "adts", "aac")),
]


@pytest.mark.parametrize("content_type, make", FORMATS)
def test_the_content_type_comes_from_the_bytes(content_type, make):
    assert sniff_bytes(make()[:65536]) == content_type


def test_nothing_else_passes_for_audio():
    assert sniff_bytes(b"") is None
    assert sniff_bytes(b"hello, world\n" * 10) is None
    assert sniff_bytes(b"%PDF-1.7\n") is None


def test_folders_recurse_and_globs_expand(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.wav").write_bytes(af.wav(0.1))
    (tmp_path / "a" / "b" / "two.flac").write_bytes(af.encode_soundfile(af.signal(0.1, 16000), 16000, "FLAC"))
    (tmp_path / "a" / "b" / "no-suffix").write_bytes(af.wav(0.1))  # audio by its bytes
    (tmp_path / "a" / "readme.txt").write_text("not audio")
    (tmp_path / "a" / ".hidden.wav").write_bytes(af.wav(0.1))
    names = [p.name for p in expand_paths([tmp_path / "a"])]
    assert sorted(names) == ["no-suffix", "one.wav", "two.flac"]
    assert [p.name for p in expand_paths([f"{tmp_path}/a/**/*.flac"])] == ["two.flac"]
    assert [p.name for p in expand_paths([tmp_path / "a" / "readme.txt"])] == ["readme.txt"]  # named: taken
    with pytest.raises(FileNotFoundError):
        expand_paths([tmp_path / "missing"])


@pytest.mark.django_db(transaction=True)
def test_multipart_uploads_and_artifact_types(relay, tmp_path, celery_worker_process):
    dataset = relay.create_dataset("multipart", artifact_types=[{"name": "glitch", "color": "#112233"}, "hum"])
    (tmp_path / "a.wav").write_bytes(af.wav(1.5))
    (tmp_path / "b.mp3").write_bytes(af.encode_soundfile(af.signal(1.5, 44100), 44100, "MP3"))
    results = relay.upload(dataset, tmp_path, multipart_threshold=0, progress=True, wait=True, timeout=60)
    assert {r.status for r in results} == {"uploaded"}
    assert {r.record["processing_status"] for r in results} == {"ready"}, [r.record for r in results]
    assert {r.record["content_type"] for r in results} == {"audio/wav", "audio/mpeg"}

    # Adding a type keeps the colours the others had.
    updated = relay.add_artifact_types(dataset, "dropout")
    colors = {t["name"]: t["color"] for t in updated["artifact_types"]}
    assert colors["glitch"] == "#112233" and set(colors) == {"glitch", "hum", "dropout"}
