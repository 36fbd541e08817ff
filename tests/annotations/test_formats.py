"""Import and export in every format; export then import into a new draft gives the same annotations."""

import io
import json
import zipfile

import pytest

from annotations.models import Annotation
from tests.helpers import annotation, assert_422, assert_error, make_audio, set_path

pytestmark = pytest.mark.django_db

# No two annotations of one type overlap or touch in one file: edge-impulse could not keep them apart.
ANNOTATIONS = [
    ("one", "glitch", 1, 2, 0.25, {"source": "listener 1"}),
    ("one", "glitch", 1234, 1235, 1.0, {}),
    ("one", "hum", 1000, 59_999, 0.9, {"hz": 50}),  # overlaps the glitches
    ("one", "dropout", 30_001, 30_087, 1.0, {}),
    ("two", "dropout", 0, 30_000, 0.5, {}),
    ("two", "glitch", 17, 18, 1.0, {"note": 'tab\tand "quotes", commas'}),
]
CARRIES_CONFIDENCE = {"json", "jsonl", "csv", "label-studio"}
CARRIES_EXTRA = {"json", "jsonl", "csv"}


@pytest.fixture
def filled(api, dataset, draft, audio, audio2):
    files = {"one": audio, "two": audio2}
    items = [annotation(files[f], t, s, e, confidence=c, extra_data=x) for f, t, s, e, c, x in ANNOTATIONS]
    assert api.post(set_path(dataset, draft, "/annotations/bulk"), {"annotations": items}).status_code == 201
    return files


def contents(set_id, confidence=True, extra=True):
    rows = Annotation.objects.filter(annotation_set_id=set_id).select_related("audio_file", "artifact_type")
    return sorted(
        (
            a.audio_file.filename,
            a.artifact_type.name,
            a.start_ms,
            a.end_ms,
            a.confidence if confidence else None,
            json.dumps(a.extra_data, sort_keys=True) if extra else None,
        )
        for a in rows
    )


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv", "audacity", "label-studio", "edge-impulse"])
def test_round_trip_is_exact(api, dataset, draft, filled, fmt):
    exported = api.get(set_path(dataset, draft, "/export"), {"format": fmt})
    assert exported.status_code == 200, exported.content
    assert "attachment" in exported["Content-Disposition"]
    new = api.post(f"/datasets/{dataset['id']}/annotation-sets").json()
    imported = api.raw(
        "post", set_path(dataset, new, f"/import?format={fmt}"), exported.content, content_type=exported["Content-Type"]
    )
    assert imported.status_code == 201, imported.content
    assert imported.json()["created"] == len(ANNOTATIONS)
    assert imported.json()["annotation_set"]["total_annotations"] == len(ANNOTATIONS)
    keep_confidence, keep_extra = fmt in CARRIES_CONFIDENCE, fmt in CARRIES_EXTRA
    assert contents(new["id"], keep_confidence, keep_extra) == contents(draft["id"], keep_confidence, keep_extra)


def test_export_works_on_published_sets(api, dataset, draft, filled):
    api.post(set_path(dataset, draft, "/publish"))
    body = api.get(set_path(dataset, draft, "/export"), {"format": "json"}).json()
    assert body["status"] == "published" and len(body["annotations"]) == len(ANNOTATIONS)
    assert body["annotations"][0]["filename"] in ("one.wav", "two.wav")


def test_audacity_tracks(api, dataset, draft, filled):
    one = filled["one"]
    track = api.get(set_path(dataset, draft, "/export"), {"format": "audacity", "audio_file_id": str(one.id)})
    assert track["Content-Type"].startswith("text/plain")
    lines = track.content.decode().splitlines()
    assert lines[0] == "0.001000\t0.002000\tglitch" and len(lines) == 4
    archive = zipfile.ZipFile(io.BytesIO(api.get(set_path(dataset, draft, "/export"), {"format": "audacity"}).content))
    assert sorted(name.split("_", 1)[1] for name in archive.namelist()) == ["one.txt", "two.txt"]
    # A track with no audio_file_id is a 400 that says what to do; one line with a bad time is a 422.
    new = api.post(f"/datasets/{dataset['id']}/annotation-sets").json()
    assert_error(
        api.raw("post", set_path(dataset, new, "/import?format=audacity"), "1\t2\thum\n", content_type="text/plain"),
        400,
        "audio_file_id",
    )
    response = api.raw(
        "post",
        set_path(dataset, new, f"/import?format=audacity&audio_file_id={one.id}"),
        "1.5\t2.5\thum\n\\ 100 200\nabc\t3\thum\n",
        content_type="text/plain",
    )
    assert_422(response, ["body", "annotations", 1, "start_ms"])
    ok = api.raw(
        "post",
        set_path(dataset, new, f"/import?format=audacity&audio_file_id={one.id}"),
        "1.5\t2.5\thum\n",
        content_type="text/plain",
    )
    assert ok.status_code == 201 and contents(new["id"])[0][2:4] == (1500, 2500)


def test_edge_impulse_shape(api, dataset, draft, filled):
    body = api.get(set_path(dataset, draft, "/export"), {"format": "edge-impulse"}).json()
    assert body["type"] == "structured-labels"
    two = body["structuredLabels"]["two.wav"]
    assert two[0] == {"startIndex": 0, "endIndex": 16, "label": "dropout"}
    assert two[1] == {"startIndex": 17, "endIndex": 17, "label": "dropout+glitch"}
    # Contiguous, no gaps: each segment starts one ms after the previous ends.
    assert all(b["startIndex"] == a["endIndex"] + 1 for a, b in zip(two, two[1:], strict=False))
    assert two[-1]["endIndex"] == 29_999


def test_import_by_filename_and_problems(api, dataset, draft, audio):
    csv_body = "filename,artifact_type,start_ms,end_ms\none.wav,hum,10,20\nnope.wav,hum,1,2\none.wav,bogus,1,2\n"
    response = api.raw("post", set_path(dataset, draft, "/import?format=csv"), csv_body, content_type="text/csv")
    assert_422(response, ["body", "annotations", 1, "filename"])
    assert Annotation.objects.count() == 0
    fixed = csv_body.replace("nope.wav,hum,1,2\n", "").replace("bogus", "glitch")
    assert (
        api.raw("post", set_path(dataset, draft, "/import?format=csv"), fixed, content_type="text/csv").json()[
            "created"
        ]
        == 2
    )


def test_ambiguous_filename_is_422(api, dataset, draft, audio):
    make_audio(dataset["id"], "one.wav")
    body = "filename,artifact_type,start_ms,end_ms\none.wav,hum,10,20\n"
    items = assert_422(
        api.raw("post", set_path(dataset, draft, "/import?format=csv"), body, content_type="text/csv"),
        ["body", "annotations", 0, "filename"],
    )
    assert "several" in items[0]["msg"]


@pytest.mark.parametrize(
    "fmt, body",
    [
        ("json", "{not json"),
        ("jsonl", '{"a": 1}\n{oops'),
        ("csv", "just,some\nthing,else\n"),
        ("edge-impulse", '{"structuredLabels": 5}'),
        ("label-studio", '"tasks"'),
    ],
)
def test_malformed_imports_are_400(api, dataset, draft, fmt, body):
    assert_error(api.raw("post", set_path(dataset, draft, f"/import?format={fmt}"), body), 400, "malformed")


def test_format_parameter_is_checked(api, dataset, draft):
    assert_422(api.get(set_path(dataset, draft, "/export")), ["query", "format"])
    assert_422(api.get(set_path(dataset, draft, "/export"), {"format": "xml"}), ["query", "format"])
    assert_422(api.raw("post", set_path(dataset, draft, "/import?format=xml"), "{}"), ["query", "format"])


def test_empty_import_is_422(api, dataset, draft):
    assert_422(api.raw("post", set_path(dataset, draft, "/import?format=json"), '{"annotations": []}'), ["body"])


def test_import_prefers_the_ready_file_of_several_with_the_name(api, dataset, draft, audio):
    from datasets.models import AudioStatus

    make_audio(dataset["id"], "one.wav", status=AudioStatus.FAILED)
    body = "filename,artifact_type,start_ms,end_ms\none.wav,hum,10,20\n"
    response = api.raw("post", set_path(dataset, draft, "/import?format=csv"), body, content_type="text/csv")
    assert response.status_code == 201, response.json()
    assert list(Annotation.objects.values_list("audio_file_id", flat=True)) == [audio.id]
    make_audio(dataset["id"], "one.wav")  # now two ready ones: ambiguous, and the message says so
    items = assert_422(
        api.raw("post", set_path(dataset, draft, "/import?format=csv"), body, content_type="text/csv"),
        ["body", "annotations", 0, "filename"],
    )
    assert "several audio files have the filename 'one.wav' (2 of them ready)" in items[0]["msg"]


CSV = "filename,artifact_type,start_ms,end_ms,confidence\none.wav,hum,10,20,\none.wav,glitch,30,40,0.5\n"


def test_import_appends_and_skips_duplicates_of_the_drafts_annotations(api, dataset, audio):
    first = api.post(f"/datasets/{dataset['id']}/annotation-sets").json()
    api.raw("post", set_path(dataset, first, "/import?format=csv"), CSV, content_type="text/csv")
    assert api.post(set_path(dataset, first, "/publish")).status_code == 200
    copy = api.post(f"/datasets/{dataset['id']}/annotation-sets", {"from_version": 1}).json()
    again = CSV + "one.wav,hum,50,60,\n"
    response = api.raw("post", set_path(dataset, copy, "/import?format=csv"), again, content_type="text/csv")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["mode"], body["created"], body["duplicates_skipped"], body["replaced"]) == ("append", 1, 2, 0)
    assert Annotation.objects.filter(annotation_set_id=copy["id"]).count() == 3
    # a duplicate differing only in confidence is still a duplicate; another end is not
    response = api.raw(
        "post",
        set_path(dataset, copy, "/import?format=csv&mode=append"),
        "filename,artifact_type,start_ms,end_ms,confidence\none.wav,glitch,30,40,0.9\none.wav,glitch,30,41,\n",
        content_type="text/csv",
    )
    assert (response.json()["created"], response.json()["duplicates_skipped"]) == (1, 1)


def test_import_replace_swaps_the_drafts_annotations_in_one_transaction(api, dataset, draft, audio):
    path = set_path(dataset, draft, "/import?format=csv")
    api.raw("post", path, CSV + "one.wav,hum,50,60,\n", content_type="text/csv")
    response = api.raw("post", path + "&mode=replace", CSV, content_type="text/csv")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["mode"], body["created"], body["duplicates_skipped"], body["replaced"]) == ("replace", 2, 0, 3)
    rows = Annotation.objects.filter(annotation_set_id=draft["id"]).values_list("start_ms", flat=True)
    assert sorted(rows) == [10, 30]
    # a bad file leaves the draft as it was (all or nothing)
    bad = "filename,artifact_type,start_ms,end_ms\none.wav,bogus,1,2\n"
    assert_422(
        api.raw("post", path + "&mode=replace", bad, content_type="text/csv"),
        ["body", "annotations", 0, "artifact_type"],
    )
    assert Annotation.objects.filter(annotation_set_id=draft["id"]).count() == 2


def test_import_mode_must_be_append_or_replace(api, dataset, draft, audio):
    items = assert_422(
        api.raw("post", set_path(dataset, draft, "/import?format=csv&mode=merge"), CSV, content_type="text/csv"),
        ["query", "mode"],
    )
    assert "append, replace" in items[0]["msg"]


def test_replace_is_rolled_back_when_the_insert_fails(api, dataset, draft, audio, monkeypatch):
    from annotations import services

    path = set_path(dataset, draft, "/import?format=csv")
    api.raw("post", path, CSV, content_type="text/csv")

    def broken_insert(*args):
        raise RuntimeError("insert failed")

    monkeypatch.setattr(services, "_insert", broken_insert)
    with pytest.raises(RuntimeError):
        services.import_annotations(
            annotation_set=Annotation.objects.first().annotation_set, fmt="csv", body=CSV.encode(), mode="replace"
        )
    assert Annotation.objects.filter(annotation_set_id=draft["id"]).count() == 2
