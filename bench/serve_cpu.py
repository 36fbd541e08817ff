"""Serving, in CPU time: what one request of bench/serve.py (the annotation list of 100,
kept-alive clients) costs in CPU milliseconds, per process group -- the web processes'
event loop threads, the rest of them (the request threads), PostgreSQL (every process of
the server, those started or ended meanwhile included), Valkey, this load generator --
read from /proc before and after each slice of load.

On a machine shared with other work, req/s and latencies follow whatever else runs on the
cores; CPU per request much less (it still grows some when the cores are contended). To
compare versions or settings, give several variants: every variant's server runs at once,
and short slices of load alternate between them, so that they share the same contention.

    .venv/bin/python bench/serve_cpu.py [--seconds 3] [--cycles 10] [--clients 4,16]
        [--variant NAME=TREE[:ENV=VALUE,...]]...    (default: this checkout, as `make run`)
        [--profile out.txt]    (py-spy, from PYSPY, records one web process of the first variant)

    e.g.  git worktree add /tmp/main main
          .venv/bin/python bench/serve_cpu.py --variant main=/tmp/main --variant this=. \\
              --variant this-t8=.:RELAY_WEB_THREADS=8,DATABASE_POOL_MAX=8
"""

import argparse
import collections
import json
import os
import resource
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import unquote

import harness
import loadgen

TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")
GROUPS = ("web loop", "web threads", "postgres", "valkey", "loadgen")


def stat(pid, tid=None, children=False):
    """(comm, ppid, CPU ms) of a process or thread: utime + stime, and with `children` the
    cutime + cstime of its children that ended; None when it is gone."""
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return comm, int(fields[1]), ticks * TICK_MS


def cpu_ms(pid, tid=None, children=False):
    found = stat(pid, tid, children)
    return found[2] if found else 0.0


def processes():
    """{pid: (comm, ppid, CPU ms, command line)}"""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := stat(entry.name)):
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                cmdline = ""
            found[int(entry.name)] = (*info, cmdline)
    return found


def descendants(table, root):
    out, frontier = set(), {root}
    while frontier:
        out |= frontier
        frontier = {pid for pid, (_, ppid, _, _) in table.items() if ppid in frontier} - out
    return out


def web_processes(root):
    """The serving processes (`--workers 1`) started by the process `root`."""
    table = processes()
    return [
        pid
        for pid in descendants(table, root)
        if "relay.embedded.web" in table[pid][3] and "--workers 1" in table[pid][3]
    ]


def groups(root):
    """{group: () -> CPU ms so far} for the web server started by `root` and the stack's
    PostgreSQL and Valkey."""
    web = web_processes(root)
    table = processes()
    broker_port = os.environ["CELERY_BROKER_URL"].rsplit(":", 1)[1].split("/")[0]
    valkey = [pid for pid, (_, _, _, cmd) in table.items() if "valkey-server" in cmd and f":{broker_port}" in cmd]
    socket_dir = unquote(os.environ["DATABASE_URL"].split("host=")[-1].split("&")[0])
    postmaster = next(
        pid
        for pid, (comm, ppid, _, cmd) in table.items()
        if comm == "postgres" and table.get(ppid, ("",))[0] != "postgres" and socket_dir in cmd
    )

    def loops():
        return sum(cpu_ms(pid, pid) for pid in web)

    def threads():
        return sum(cpu_ms(pid) for pid in web) - loops()

    def postgres():
        backends = descendants(processes(), postmaster) - {postmaster}
        return cpu_ms(postmaster, children=True) + sum(cpu_ms(pid) for pid in backends)

    return {
        "web loop": loops,
        "web threads": threads,
        "postgres": postgres,
        "valkey": lambda: sum(cpu_ms(pid) for pid in valkey),
        "loadgen": lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2]) * 1000,
    }


def machine_busy_ms():
    """CPU time every process of the machine used so far (all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) * TICK_MS


class Variant:
    def __init__(self, spec):
        name, _, rest = spec.partition("=")
        tree, _, env = rest.partition(":")
        self.name, self.tree = name, str(Path(tree or ".").resolve())
        self.env = dict(pair.split("=", 1) for pair in env.split(",") if pair)
        self.cpu, self.latencies = collections.defaultdict(collections.Counter), collections.defaultdict(list)
        self.wall, self.errors = collections.Counter(), collections.Counter()

    def start(self):
        from relay.embedded.servers import free_ports

        (port,) = free_ports(1)
        self.url = f"http://127.0.0.1:{port}"
        workers = self.env.get("RELAY_WEB_WORKERS") or str(os.cpu_count())
        command = [sys.executable, "-m", "relay.embedded.web", "--host", "127.0.0.1", "--port", str(port)]
        self.process = subprocess.Popen(
            [*command, "--workers", workers], cwd=self.tree, env={**os.environ, **self.env}, stdout=subprocess.DEVNULL
        )

    def ready(self, path, key):
        from relay.embedded.servers import wait_for

        wait_for(lambda: urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1).status == 200, 60, self.name)
        loadgen.run_keepalive(8, 2, self.url + path, {"X-API-Key": key}, "warm")  # every process, its pool grown
        self.groups = groups(self.process.pid)

    def slice(self, path, key, clients, seconds):
        before = {name: read() for name, read in self.groups.items()}
        machine = machine_busy_ms()
        tally, wall = loadgen.run_keepalive(clients, seconds, self.url + path, {"X-API-Key": key}, "list")
        for name, read in self.groups.items():
            self.cpu[clients][name] += read() - before[name]
        self.cpu[clients]["machine"] += machine_busy_ms() - machine
        self.latencies[clients] += tally.latencies["list"]
        self.wall[clients] += wall
        self.errors[clients] += sum(tally.errors.values())

    def result(self, clients):
        n = len(self.latencies[clients])
        per = {name: self.cpu[clients][name] / n for name in (*GROUPS, "machine")}
        return {
            "variant": self.name,
            "clients": clients,
            "requests": n,
            "per_s": n / self.wall[clients],
            "p50": loadgen.percentile(self.latencies[clients], 50),
            "p99": loadgen.percentile(self.latencies[clients], 99),
            "errors": self.errors[clients],
            "cpu_ms": {**per, "total": sum(per[name] for name in GROUPS)},
        }

    def stop(self):
        self.process.terminate()
        self.process.wait(30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0, help="of each slice")
    parser.add_argument("--cycles", type=int, default=10, help="slices per variant and client count")
    parser.add_argument("--clients", default="4,16")
    parser.add_argument("--variant", action="append", default=[], help="NAME=TREE[:ENV=VALUE,...]")
    parser.add_argument("--profile", default="", help="py-spy raw stacks of one web process of the first variant")
    args = parser.parse_args()
    variants = [Variant(spec) for spec in args.variant or [f"this={harness.BASE_DIR}"]]
    counts = [int(c) for c in args.clients.split(",")]
    with harness.stack():
        import serve

        key, path = serve.prepare()
        os.environ["RELAY_RATE_LIMIT_READ"] = "100000000"  # every request still counted (see serve.py)
        try:
            for variant in variants:
                variant.start()
            for variant in variants:
                variant.ready(path, key)
            if args.profile:
                duration = args.seconds * args.cycles * len(variants) * len(counts) + 5
                spy = subprocess.Popen(
                    [os.environ.get("PYSPY", "py-spy"), "record", "-p", str(web_processes(variants[0].process.pid)[0]),
                     "-r", "250", "-f", "raw", "-o", args.profile, "-d", str(int(duration)), "--nonblocking",
                     "--threads", "--gil"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
            for cycle in range(args.cycles):
                for clients in counts:
                    for variant in variants if cycle % 2 == 0 else variants[::-1]:
                        variant.slice(path, key, clients, args.seconds)
            if args.profile:
                spy.wait()
        finally:
            for variant in variants:
                variant.stop()
    results = [variant.result(clients) for clients in counts for variant in variants]
    print(f"\n{args.cycles} slices of {args.seconds:.0f} s per variant and client count; CPU ms per request")
    print(f"{'variant':<14} {'clients':>7} {'req/s':>7} {'p50':>6} {'p99':>6} {'err':>4} "
          + " ".join(f"{g:>11}" for g in (*GROUPS, "total", "machine")))  # fmt: skip
    for r in results:
        cpu = r["cpu_ms"]
        head = f"{r['variant']:<14} {r['clients']:>7} {r['per_s']:>7.1f} {r['p50']:>6.1f} {r['p99']:>6.1f}"
        print(f"{head} {r['errors']:>4} " + " ".join(f"{cpu[g]:>11.2f}" for g in (*GROUPS, "total", "machine")))
    print("(machine: what every process of the machine used per request, other work included)")
    print(json.dumps({"serve_cpu": results}, default=float))


if __name__ == "__main__":
    main()
