"""The audio list of 100 with and without presigned download URLs (`?include=download_url`),
through Django's full stack in-process: median ms of each.

    .venv/bin/python bench/audio_list.py [--repeat 50]
"""

import argparse
import json
import statistics
import time

import harness


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    with harness.stack():
        from tests.helpers import make_audio

        api = harness.Api("audio-list")
        dataset = api.post("/datasets", {"name": "audio list", "artifact_types": [{"name": "glitch"}]})
        for i in range(100):
            make_audio(dataset["id"], f"f{i:03}.wav")
        path = f"/datasets/{dataset['id']}/audio"
        figures = {}
        for name, params in (
            ("plain", {"page_size": 100}),
            ("include=download_url", {"page_size": 100, "include": "download_url"}),
        ):
            api.get(path, params)
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                body = api.get(path, params)
                times.append((time.perf_counter() - started) * 1000)
            assert len(body["items"]) == 100 and (body["items"][0]["download_url"] is None) == (name == "plain")
            figures[name] = round(statistics.median(times), 2)
            print(f"audio list of 100, {name:22} {figures[name]:8.2f} ms")
    print(json.dumps({"audio_list": figures}))
    harness.report(
        "audio_list",
        [harness.figure(f"audio list of 100, {name}, median", f"{ms} ms", ms) for name, ms in figures.items()],
    )


if __name__ == "__main__":
    main()
