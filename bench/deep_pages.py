"""Deep pages: the annotation list of a 100,000-row set, page 1 against page 1,000 (100 a page),
by OFFSET (`?page=`) and by keyset (`?cursor=`), through Django's full stack in-process, with
the total each answers. Goal: page 1,000 through the cursor within 1.5x of page 1.

    .venv/bin/python bench/deep_pages.py [--rows 100000] [--repeat 30]
"""

import argparse
import json
import statistics
import time

import harness


def prepare(rows):
    from django.db import connection

    from annotations.models import Annotation, AnnotationSet
    from datasets.models import ArtifactType
    from tests.helpers import make_audio

    api = harness.Api("deep")
    dataset = api.post("/datasets", {"name": "deep", "artifact_types": [{"name": "glitch"}]})
    audio = make_audio(dataset["id"], "long.wav", duration_ms=10**9)
    annotation_set = api.post(f"/datasets/{dataset['id']}/annotation-sets")
    glitch = ArtifactType.objects.get(dataset_id=dataset["id"])
    set_obj = AnnotationSet.objects.get(pk=annotation_set["id"])
    batch = 10_000
    for start in range(0, rows, batch):
        Annotation.objects.bulk_create(
            Annotation(
                annotation_set=set_obj, audio_file=audio, artifact_type=glitch, start_ms=i * 10, end_ms=i * 10 + 5
            )
            for i in range(start, min(start + batch, rows))
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE annotations_annotation")
    return api, f"/datasets/{dataset['id']}/annotation-sets/{annotation_set['id']}/annotations"


def timed(api, path, params, repeat):
    api.get(path, params)
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        body = api.get(path, params)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 2), body


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    with harness.stack():
        api, path = prepare(args.rows)
        from annotations.models import Annotation
        from relay.api.pagination import Keyset

        deep = 1000 if args.rows >= 100_000 else max(args.rows // 100, 2)
        rows = Annotation.objects.filter(annotation_set_id=path.split("/")[-2])
        keyset = Keyset.of(rows)
        before = keyset.order(rows)[(deep - 1) * 100 - 1]  # the last row of page deep-1
        cursor = keyset.encode(before)
        figures = {}
        for name, params in (
            ("page 1 (page=1)", {"page_size": 100}),
            (f"page {deep} (page={deep}, OFFSET)", {"page_size": 100, "page": deep}),
            ("page 1 (cursor)", {"page_size": 100, "cursor": ""}),
            (f"page {deep} (cursor)", {"page_size": 100, "cursor": cursor}),
        ):
            ms, body = timed(api, path, params, args.repeat)
            assert len(body["items"]) == 100, name
            figures[name] = {"median_ms": ms, "total": body["total"], "total_is_estimate": body["total_is_estimate"]}
            print(f"{name:32} {ms:8.2f} ms  total {body['total']} (estimate: {body['total_is_estimate']})")
        first, deepest = figures["page 1 (cursor)"]["median_ms"], figures[f"page {deep} (cursor)"]["median_ms"]
        ratio = round(deepest / first, 2)
        print(f"cursor page {deep} / page 1: {ratio}x (goal <= 1.5x)")
    result = {"deep_pages": {"rows": args.rows, "figures": figures, "cursor_ratio": ratio, "goal": "<= 1.5x"}}
    result["deep_pages"]["date"] = time.strftime("%Y-%m-%d")
    print(json.dumps(result))
    (harness.BASE_DIR / "bench" / "results" / "deep_pages.json").write_text(json.dumps(result, indent=2) + "\n")
    offset = figures[f"page {deep} (page={deep}, OFFSET)"]["median_ms"]
    harness.report(
        "deep_pages",
        [
            harness.figure(
                f"annotation list of {args.rows:,} rows: cursor page {deep} vs page 1, median",
                f"{deepest} vs {first} ms = {ratio}x (by OFFSET: {offset} ms)",
                ratio,
                "<= 1.5x",
                ratio <= 1.5,
            )
        ],
    )


if __name__ == "__main__":
    main()
