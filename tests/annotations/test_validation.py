"""The steps of annotation validation (annotations/validation.py), each on its own,
with a stand-in for the dataset (no database)."""

import uuid
from types import SimpleNamespace

import pytest

from annotations import validation as v

AUDIO_ID = uuid.uuid4()
AUDIO = SimpleNamespace(id=AUDIO_ID, duration_ms=5000, confirmed_at=object(), status="ready")
PENDING = SimpleNamespace(id=uuid.uuid4(), duration_ms=None, confirmed_at=None, status="pending")
GLITCH = SimpleNamespace(id=uuid.uuid4(), name="Glitch")


class Context:
    types = {"glitch": GLITCH}

    def audio(self, audio_id):
        return {AUDIO.id: AUDIO, PENDING.id: PENDING}.get(audio_id)


def run(step, raw, partial_of=None):
    check = v.ItemCheck(raw, ["body"], Context(), partial_of)
    step(check)
    return check.clean, [(p["loc"][-1], p["type"]) for p in check.problems]


@pytest.mark.parametrize(
    "value, problem",
    [
        ("nope", ("audio_file_id", "type_error.uuid")),
        (str(uuid.uuid4()), ("audio_file_id", "value_error.not_found")),
        (str(PENDING.id), ("audio_file_id", "value_error.not_confirmed")),
    ],
)
def test_check_audio_problems(value, problem):
    assert run(v.check_audio, {"audio_file_id": value})[1] == [problem]


def test_check_audio_finds_the_file_or_keeps_the_patched_ones():
    assert run(v.check_audio, {"audio_file_id": str(AUDIO_ID)})[0] == {"audio": AUDIO}
    assert run(v.check_audio, {})[1] == [("audio_file_id", "value_error.missing")]
    assert run(v.check_audio, {}, partial_of=SimpleNamespace(audio_file=AUDIO))[0] == {"audio": AUDIO}


def test_check_artifact_type_any_case_and_names_the_known_ones():
    assert run(v.check_artifact_type, {"artifact_type": "GLITCH"})[0] == {"artifact_type": GLITCH}
    check = v.ItemCheck({"artifact_type": "hum"}, ["body"], Context())
    v.check_artifact_type(check)
    assert "this dataset has: Glitch" in check.problems[0]["msg"]
    assert run(v.check_artifact_type, {"artifact_type": 3})[1] == [("artifact_type", "type_error.str")]


@pytest.mark.parametrize(
    "raw, problem",
    [
        ({"start_ms": "1", "end_ms": 2}, ("start_ms", "type_error.integer")),
        ({"start_ms": -1, "end_ms": 2}, ("start_ms", "value_error.number.not_ge")),
        ({"start_ms": 5, "end_ms": 5}, ("end_ms", "value_error.end_before_start")),
        ({"start_ms": 0, "end_ms": 5001, "audio": AUDIO}, ("end_ms", "value_error.past_end")),
    ],
)
def test_check_times_problems(raw, problem):
    check = v.ItemCheck(raw, ["body"], Context())
    if "audio" in raw:
        check.clean["audio"] = raw.pop("audio")
    v.check_times(check)
    assert [(p["loc"][-1], p["type"]) for p in check.problems] == [problem]


def test_check_times_takes_whole_floats():
    assert run(v.check_times, {"start_ms": 1.0, "end_ms": 20})[0] == {"start_ms": 1, "end_ms": 20}


def test_check_confidence_defaults_and_range():
    assert run(v.check_confidence, {})[0] == {"confidence": 1.0}
    assert run(v.check_confidence, {"confidence": 1.5})[1] == [("confidence", "value_error.number.range")]
    assert run(v.check_confidence, {"confidence": True})[1] == [("confidence", "type_error.float")]


def test_check_extra_data_type_and_size():
    assert run(v.check_extra_data, {"extra_data": None})[0] == {"extra_data": {}}
    assert run(v.check_extra_data, {"extra_data": []})[1] == [("extra_data", "type_error.dict")]
    big = {"x": "y" * v.EXTRA_DATA_MAX_BYTES}
    assert run(v.check_extra_data, {"extra_data": big})[1] == [("extra_data", "value_error.too_large")]


def test_check_item_reports_unknown_fields_unless_lenient():
    raw = {"audio_file_id": str(AUDIO_ID), "artifact_type": "glitch", "start_ms": 0, "end_ms": 10, "colour": "red"}
    clean, problems = v.check_item(raw, ["body"], Context())
    assert clean is None and problems[0]["loc"] == ["body", "colour"]
    clean, problems = v.check_item(raw, ["body"], Context(), strict=False)
    assert problems == [] and clean["end_ms"] == 10
