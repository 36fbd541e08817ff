"""Load from client threads over HTTP, on loopback only: requests per second, latency
percentiles and errors. Each client thread keeps one connection (requests.Session)."""

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests


def loopback_only(url):
    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"refusing to load {host}: these benchmarks only talk to this machine")


@dataclass
class Tally:
    """Latencies (ms) per kind of request, and errors."""

    latencies: dict = field(default_factory=lambda: defaultdict(list))
    errors: dict = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind, ms, ok):
        with self.lock:
            self.latencies[kind].append(ms)
            if not ok:
                self.errors[kind] += 1


def timed(tally, kind, call, ok_codes=(200, 201, 202, 204)):
    """Run `call()` (a requests call), count it under `kind`; returns the response or None."""
    started = time.perf_counter()
    try:
        response = call()
    except requests.RequestException:
        tally.add(kind, (time.perf_counter() - started) * 1000, False)
        return None
    tally.add(kind, (time.perf_counter() - started) * 1000, response.status_code in ok_codes)
    return response


def run_clients(count, seconds, client, *args):
    """`count` threads each calling `client(session, tally, deadline, *args)`; the Tally and wall time."""
    tally, deadline = Tally(), time.monotonic() + seconds
    threads = [
        threading.Thread(target=client, args=(requests.Session(), tally, deadline, *args), daemon=True)
        for _ in range(count)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.perf_counter() - started


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))] if ordered else float("nan")


def summary(tally, wall_s):
    """[{kind, requests, per_s, p50, p95, p99, errors}] plus an `all` row."""
    rows = []
    kinds = sorted(tally.latencies)
    everything = [ms for kind in kinds for ms in tally.latencies[kind]]
    for kind, values in [*((k, tally.latencies[k]) for k in kinds), ("all", everything)]:
        errors = sum(tally.errors.values()) if kind == "all" else tally.errors[kind]
        rows.append(
            {
                "kind": kind,
                "requests": len(values),
                "per_s": len(values) / wall_s,
                "p50": percentile(values, 50),
                "p95": percentile(values, 95),
                "p99": percentile(values, 99),
                "errors": errors,
            }
        )
    return rows


def table(rows, title):
    lines = [
        f"{title}",
        f"{'kind':<22} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}",
    ]
    for r in rows:
        lines.append(
            f"{r['kind']:<22} {r['requests']:>8} {r['per_s']:>8.1f} {r['p50']:>8.1f} {r['p95']:>8.1f} "
            f"{r['p99']:>8.1f} {r['errors']:>7}"
        )
    return "\n".join(lines)


def run_keepalive(count, seconds, url, headers, kind):
    """`count` kept-alive connections GETting `url` in turn for `seconds`, driven by one
    asyncio loop (uvloop) speaking plain HTTP/1.1: the client costs tens of microseconds a
    request, so on a small machine the server, not the load generator, gets the CPU.
    A response counts as an error unless it is a 200 with its whole body."""
    import asyncio

    import uvloop

    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    tally = Tally()

    async def one_connection(deadline):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.monotonic() < deadline:
                started = time.perf_counter()
                ok = False
                try:
                    writer.write(request)
                    head = await reader.readuntil(b"\r\n\r\n")
                    status = int(head[9:12])
                    length = next(
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    )
                    body = await reader.readexactly(length)
                    ok = status == 200 and len(body) == length
                except (OSError, StopIteration, ValueError, asyncio.IncompleteReadError):
                    tally.add(kind, (time.perf_counter() - started) * 1000, False)
                    writer.close()
                    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
                    continue
                tally.add(kind, (time.perf_counter() - started) * 1000, ok)
        finally:
            writer.close()

    async def main():
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(one_connection(deadline) for _ in range(count)))

    started = time.perf_counter()
    uvloop.run(main())
    return tally, time.perf_counter() - started
