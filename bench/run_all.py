"""Run every benchmark under bench/, one after another, each in its own process with a time
limit; collect the figures each reports (`RELAY-BENCH <json>` lines, see harness.report),
write bench/results.json and bench/results.md, and put the table in README.md's Performance
section (between the bench-results markers).

    .venv/bin/python bench/run_all.py [--quick] [--only serve,api_overhead] [--skip cross_corpus]

--quick passes each benchmark's own small-size flags. With --only or --skip, the other
benchmarks' last results are kept from the existing results.json. A benchmark that fails, times
out or reports nothing is recorded as such; run_all goes on and exits 1 at the end.
"""

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import harness

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
RESULTS_JSON = BENCH_DIR / "results.json"
RESULTS_MD = BENCH_DIR / "results.md"
README = BASE_DIR / "README.md"
MARKERS = ("<!-- bench-results:start -->", "<!-- bench-results:end -->")
QUICK_OUT = Path("/tmp/relay-bench-quick")


@dataclass(frozen=True)
class Benchmark:
    name: str
    timeout_s: int  # for the default sizes; --quick runs get a third of it (at least 10 minutes)
    args: tuple = ()
    quick_args: tuple = ()
    script: str = ""

    def command(self, quick):
        script = BENCH_DIR / f"{self.script or self.name}.py"
        return [sys.executable, str(script), *(self.quick_args if quick else self.args)]

    def time_limit(self, quick):
        return max(600, self.timeout_s // 3) if quick else self.timeout_s


BENCHMARKS = [
    Benchmark("api_overhead", 900, quick_args=("--requests", "150")),
    Benchmark("audio_list", 600, quick_args=("--repeat", "10")),
    Benchmark("bulk_annotations", 900, quick_args=("--repeat", "2")),
    Benchmark("deep_pages", 1200, quick_args=("--rows", "20000", "--repeat", "10")),
    Benchmark("job_counts", 1800, quick_args=("--jobs", "100000")),
    Benchmark("serve", 900, quick_args=("--seconds", "5")),
    Benchmark("upload", 1200, quick_args=("--repeat", "2")),
    Benchmark("ingest", 1200, quick_args=("--files", "200")),
    Benchmark("load", 1200, quick_args=("--seconds", "10")),
    Benchmark("dispatch", 2400, quick_args=("--jobs", "20", "--streams", "100,300", "--seconds", "5")),
    Benchmark("inference_speed", 3600, quick_args=("--minutes", "10")),
    Benchmark("detection", 7200, quick_args=("--minutes", "5", "--epochs", "3")),
    # The default run rewrites bench/results/cross_corpus.json/.md (hours); a quick one writes under /tmp.
    Benchmark("cross_corpus", 6 * 3600, quick_args=("--quick", "--out", str(QUICK_OUT / "cross_corpus.json"))),
]


# --- the machine --------------------------------------------------------------------------


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def memory_gb():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024**2, 1)
    return None


def git_commit():
    def git(*command):
        done = subprocess.run(["git", *command], cwd=BASE_DIR, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    return f"{commit}{' (uncommitted changes)' if git('status', '--short', '--untracked-files=no') else ''}"


def machine():
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": memory_gb(),
        "python": platform.python_version(),
        "commit": git_commit(),
    }


def load_average():
    return [round(value, 2) for value in os.getloadavg()]


# --- running one benchmark ----------------------------------------------------------------


def stream_output(process, name, lines):
    """Echo the child's output with its name in front, keeping every line."""
    for line in process.stdout:
        lines.append(line)
        print(f"[{name}] {line}", end="", flush=True)


def stop(process, grace_s=60):
    """SIGINT first, so that the benchmark's stack cleans up after itself; then SIGKILL."""
    for sig in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
            process.wait(grace_s)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def execute(command, name, time_limit):
    """(exit code or None when timed out, output lines)."""
    process = subprocess.Popen(
        command, cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    lines = []
    reader = threading.Thread(target=stream_output, args=(process, name, lines), daemon=True)
    reader.start()
    try:
        code = process.wait(time_limit)
    except subprocess.TimeoutExpired:
        stop(process)
        code = None
    reader.join(10)
    return code, lines


def reported_figures(lines):
    figures = []
    for line in lines:
        if line.startswith(harness.REPORT_PREFIX):
            figures += json.loads(line[len(harness.REPORT_PREFIX) :])["figures"]
    return figures


def outcome(code, figures, time_limit):
    if code is None:
        return f"timed out after {time_limit} s"
    if code != 0:
        return f"failed (exit {code})"
    return "ok" if figures else "reported no figures"


def run(benchmark, quick, about_machine):
    command = benchmark.command(quick)
    shown = " ".join([f"bench/{Path(command[1]).name}", *command[2:]])
    time_limit = benchmark.time_limit(quick)
    print(f"\n=== {benchmark.name}: {shown} (limit {time_limit} s)", flush=True)
    load_before, started = load_average(), time.monotonic()
    code, lines = execute(command, benchmark.name, time_limit)
    figures = reported_figures(lines)
    result = {
        "status": outcome(code, figures, time_limit),
        "figures": figures,
        "exit_code": code,
        "duration_s": round(time.monotonic() - started, 1),
        "command": shown,
        "quick": quick,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**about_machine, "load_average_before": load_before, "load_average_after": load_average()},
    }
    if result["status"] != "ok":
        result["output_tail"] = "".join(lines[-40:])
    print(f"=== {benchmark.name}: {result['status']} in {result['duration_s']} s", flush=True)
    return result


# --- writing the results ------------------------------------------------------------------


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def met_text(met):
    return {True: "yes", False: "**no**", None: ""}[met]


def table_rows(name, result):
    label = f"{name} (quick)" if result["quick"] else name
    day = result["date"][:10]
    if result["status"] != "ok" and not result["figures"]:
        return [f"| {label} | | | {cell(result['status'])} | **no** | {day} |"]
    rows = [
        f"| {label} | {cell(f['figure'])} | {cell(f['goal'])} | {cell(f['measured'])} | {met_text(f['met'])} | {day} |"
        for f in result["figures"]
    ]
    if result["status"] != "ok":
        rows.append(f"| {label} | | | {cell(result['status'])} | **no** | {day} |")
    return rows


def describe(about):
    return f"{about['cpu']}, {about['cores']} cores, {about['memory_gb']} GB, Python {about['python']}"


def machine_lines(benchmarks):
    described = "; ".join(sorted({describe(r["machine"]) for r in benchmarks.values()}))
    loads = ", ".join(
        f"{name} {r['machine']['load_average_before'][0]} -> {r['machine']['load_average_after'][0]} "
        f"({r['machine']['commit']})"
        for name, r in benchmarks.items()
    )
    return [
        f"Machine: {described}. It may be shared: 1-minute load average before -> after each "
        f"benchmark (and the commit it ran): {loads}.",
    ]


def markdown(benchmarks):
    lines = ["| benchmark | figure | goal | measured | met | date |", "|---|---|---|---|---|---|"]
    for name, result in benchmarks.items():
        lines += table_rows(name, result)
    return "\n".join([*lines, "", *machine_lines(benchmarks)]) + "\n"


def update_readme(table):
    text = README.read_text()
    start, end = MARKERS
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no {start} ... {end} block")
    README.write_text(pattern.sub(lambda _: f"{start}\n{table}{end}", text))


def previous_results():
    if RESULTS_JSON.exists():
        return json.loads(RESULTS_JSON.read_text()).get("benchmarks", {})
    return {}


def ordered(benchmarks):
    """In BENCHMARKS order, whatever order they were merged in."""
    order = [b.name for b in BENCHMARKS]
    return dict(sorted(benchmarks.items(), key=lambda item: order.index(item[0]) if item[0] in order else len(order)))


def save(benchmarks):
    benchmarks = ordered(benchmarks)
    RESULTS_JSON.write_text(
        json.dumps({"written_at": datetime.now(UTC).isoformat(timespec="seconds"), "benchmarks": benchmarks}, indent=2)
        + "\n"
    )
    table = markdown(benchmarks)
    RESULTS_MD.write_text(table)
    update_readme(table)


# --- main ---------------------------------------------------------------------------------


def selected(only, skip):
    names = {b.name for b in BENCHMARKS}
    wanted = [n for n in (only or "").split(",") + (skip or "").split(",") if n]
    unknown = set(wanted) - names
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))} (known: {', '.join(sorted(names))})")
    chosen = [b for b in BENCHMARKS if not only or b.name in only.split(",")]
    return [b for b in chosen if b.name not in (skip or "").split(",")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="each benchmark's small sizes")
    parser.add_argument("--only", help="comma-separated benchmark names")
    parser.add_argument("--skip", help="comma-separated benchmark names")
    args = parser.parse_args(argv)
    chosen = selected(args.only, args.skip)
    QUICK_OUT.mkdir(parents=True, exist_ok=True)
    about_machine = machine()
    benchmarks = previous_results() if (args.only or args.skip) else {}
    failed = []
    for benchmark in chosen:
        result = run(benchmark, args.quick, about_machine)
        benchmarks[benchmark.name] = result
        if result["status"] != "ok":
            failed.append(benchmark.name)
        save(benchmarks)  # after each one, so that an interrupted run keeps what it measured
    print(f"\n{markdown(ordered(benchmarks))}\nwritten: {RESULTS_JSON}, {RESULTS_MD}, README.md", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
