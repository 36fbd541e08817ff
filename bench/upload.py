"""Upload throughput: the presigned POST path that clients use, against boto3 put_object to
the same S3, for 1 MB and 100 MB files. Goal: presigned / put_object >= 0.9.

    .venv/bin/python bench/upload.py [--repeat 5]

Starts a throwaway PostgreSQL, Valkey and SeaweedFS unless DATABASE_URL, CELERY_BROKER_URL
and S3_ENDPOINT_URL are set. The presigned path is timed as a client sees it: the POST of
the form (fields + file) with `requests`; boto3 gets the same bytes from memory.
"""

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import harness


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with harness.stack():
        run(args.repeat)


def timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def presigned_post(session, storage, key, data):
    url, fields = storage.presigned_post(key, content_type="audio/wav", size=len(data), expires_in=600)
    response = session.post(url, data=fields, files={"file": ("f.wav", data, "audio/wav")}, timeout=600)
    assert response.status_code == 204, response.text


def presigned_multipart(session, storage, key, data, part_size=16 * 1024 * 1024, parallel=4):
    """What a client of POST /audio/multipart does: PUT the parts to their presigned URLs."""
    upload_id = storage.create_multipart(key, content_type="audio/wav")
    parts = range(1, -(-len(data) // part_size) + 1)

    def put(number):
        url = storage.presigned_part(key, upload_id=upload_id, part_number=number, expires_in=600)
        chunk = data[(number - 1) * part_size : number * part_size]
        response = session.put(url, data=chunk, timeout=600)
        assert response.status_code == 200, response.text
        return {"part_number": number, "etag": response.headers["ETag"]}

    with ThreadPoolExecutor(parallel) as pool:
        etags = list(pool.map(put, parts))
    storage.complete_multipart(key, upload_id=upload_id, parts=etags)


def run(repeat):
    import requests
    from django.conf import settings

    from relay import storage

    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=8))
    print(f"S3 endpoint {settings.S3_ENDPOINT_URL or 'AWS'}; median of {repeat} uploads each\n")
    print(f"{'size':>6} {'presigned path':<34} {'MB/s':>8} {'put_object MB/s':>16} {'ratio':>7}")
    cases = [
        (1, "POST (upload-url)", presigned_post),
        (100, "POST (upload-url)", presigned_post),
        (100, "multipart, 16 MiB parts, 4 at once", presigned_multipart),
    ]
    figures = []
    for size_mb, label, upload in cases:
        data = os.urandom(size_mb * 1_000_000)
        path_times, put_times = [], []
        for attempt in range(repeat + 1):  # the first round warms connections up and is dropped
            key = f"bench/{size_mb}mb-{attempt}"
            elapsed_path = timed(
                lambda key=key, data=data, upload=upload: upload(session, storage, key + "-path", data)
            )
            elapsed_put = timed(
                lambda key=key, data=data: storage.client().put_object(
                    Bucket=settings.S3_BUCKET, Key=key + "-put", Body=data, ContentType="audio/wav"
                )
            )
            if attempt:
                path_times.append(elapsed_path)
                put_times.append(elapsed_put)
        path, put = statistics.median(path_times), statistics.median(put_times)
        print(f"{size_mb:>4}MB {label:<34} {size_mb / path:>8.1f} {size_mb / put:>16.1f} {put / path:>7.2f}")
        ratio = round(put / path, 2)
        figures.append(
            harness.figure(
                f"{size_mb} MB upload, presigned {label} vs put_object",
                f"{size_mb / path:.1f} vs {size_mb / put:.1f} MB/s = {ratio}x",
                ratio,
                ">= 0.9x",
                ratio >= 0.9,
            )
        )
    storage.delete_prefix("bench/")
    print("\nratio = presigned throughput / boto3 put_object throughput to the same S3 (goal >= 0.9)")
    harness.report("upload", figures)


if __name__ == "__main__":
    main()
