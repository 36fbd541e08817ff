"""The command that serves the web app: one place for `make run`, the tests, the benchmarks
and production (`python -m relay.embedded.web --host 0.0.0.0 --port 8000 --workers 4`).

RELAY_WEB_WORKERS uvicorn processes (default: one per core), with HTTP keep-alive. Each
process runs API requests on RELAY_WEB_THREADS threads and event streams on its event loop
(relay/asgi.py), so an open stream holds a connection but no thread.

Each process listens on a socket of its own bound with SO_REUSEPORT, so the kernel spreads
new connections evenly over them. (`uvicorn --workers N` shares one socket: the process that
wakes first accepts, and kept-alive clients that connect at once can all land on one process
while the others idle -- at 16 clients on 2 cores, half the throughput.)
"""

import argparse
import os
import signal
import socket
import subprocess
import sys


def default_workers():
    return int(os.environ.get("RELAY_WEB_WORKERS") or os.cpu_count() or 1)


def command(host, port, workers=None):
    return [
        sys.executable, "-m", "relay.embedded.web", "--host", host, "--port", str(port),
        "--workers", str(workers or default_workers()),
    ]  # fmt: skip


def listening_socket(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    return sock


def serve(host, port):
    """One uvicorn process on its own SO_REUSEPORT socket (until SIGTERM or SIGINT)."""
    import uvicorn

    config = uvicorn.Config(
        "relay.asgi:application",
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=10,
    )
    uvicorn.Server(config).run(sockets=[listening_socket(host, port)])


def supervise(host, port, workers):
    """`workers` serving processes; a stop signal goes to each; when one ends, all do."""
    children = [subprocess.Popen(command(host, port, 1)) for _ in range(workers)]
    stopping = []

    def stop(signum, frame):
        if stopping:  # once: a second SIGTERM makes uvicorn drop open connections at once
            return
        stopping.append(signum)
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    os.wait()  # the first child to end (stopped, or crashed)
    stop(None, None)
    # uvicorn ends by raising the signal it stopped on again: a child ended by the SIGTERM we
    # sent stopped normally.
    codes = [child.wait() for child in children]
    return max((0 if code == -signal.SIGTERM else abs(code) for code in codes), default=0)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Serve Relay's web app (API, event streams, admin).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None, help="processes (RELAY_WEB_WORKERS, or one per core)")
    args = parser.parse_args(argv)
    workers = args.workers or default_workers()
    if workers == 1:
        serve(args.host, args.port)
        return 0
    return supervise(args.host, args.port, workers)


if __name__ == "__main__":
    sys.exit(main())
