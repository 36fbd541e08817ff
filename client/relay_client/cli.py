"""`relay`: the command line of the Relay client. `relay --help`, `relay COMMAND --help`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from relay_client import errors
from relay_client._version import __version__
from relay_client.config import config_path

EXIT_CODES = """exit codes:
  0    success
  1    an API error not listed below, or some files failed to upload
  2    bad arguments (usage)
  3    configuration: no API key (RELAY_API_KEY, --api-key or the config file)
  4    authentication or permission (401, 403)
  5    not found (404)
  6    refused: conflict or invalid input (400, 409, 413, 415, 422)
  7    a job failed or was cancelled
  8    server unavailable, rate limited or unreachable (429, 503, network; after retries)
  124  --timeout reached
  130  interrupted (Ctrl-C)"""

ENVIRONMENT = f"""configuration: RELAY_API_URL (default http://127.0.0.1:8000) and RELAY_API_KEY, or
{config_path()} with api_url = "..." and api_key = "..." (RELAY_PROFILE or --profile picks a
[profiles.NAME] table of it)."""


def exit_code(error):
    if isinstance(error, errors.ConfigError):
        return 3
    if isinstance(error, errors.JobFailed):
        return 7
    if isinstance(error, (errors.AuthenticationError, errors.PermissionDenied)):
        return 4
    if isinstance(error, errors.NotFound):
        return 5
    if isinstance(
        error,
        (
            errors.BadRequest,
            errors.Conflict,
            errors.ValidationError,
            errors.PayloadTooLarge,
            errors.UnsupportedMediaType,
        ),
    ):
        return 6
    if isinstance(error, (errors.ServiceUnavailable, errors.RateLimited, errors.RelayConnectionError)):
        return 8
    return 1


# Output ----------------------------------------------------------------------------------
def _cell(value, width=48):
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:.3g}"
    elif isinstance(value, (dict, list)):
        text = json.dumps(value, separators=(",", ":"))
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows, columns, out=None):
    """Aligned columns for people: `columns` are keys, or (header, key or function)."""
    out = out or sys.stdout
    specs = [(c, c) if isinstance(c, str) else c for c in columns]
    cells = [[_cell(key(row) if callable(key) else row.get(key)) for _, key in specs] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, (h, _) in enumerate(specs)]
    print("  ".join(h.upper().ljust(w) for (h, _), w in zip(specs, widths, strict=True)).rstrip(), file=out)
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
    if not rows:
        print("(none)", file=out)


class Output:
    def __init__(self, args):
        self.json_mode = args.json
        self.quiet = args.quiet

    def data(self, value, human):
        """JSON for scripts (--json), else `human()` prints for people."""
        if self.json_mode:
            json.dump(value, sys.stdout, indent=1, default=str)
            sys.stdout.write("\n")
        else:
            human()

    def info(self, message):
        if not self.quiet:
            print(message, file=sys.stderr)


# Commands --------------------------------------------------------------------------------
def cmd_status(relay, args, out):
    status = relay.status()
    checks = [{"check": name, **check} for name, check in status["checks"].items()]

    def human():
        print(f"{relay.api_url}: {status['status']}")
        table(checks, ["check", "status", ("latency_ms", lambda c: c.get("latency_ms")), ("detail", "detail")])

    out.data(status, human)
    return 0 if status["status"] == "ok" else 8


def cmd_datasets(relay, args, out):
    if args.action == "create":
        if not args.name:
            raise SystemExit("relay datasets create NAME --type glitch --type hum")
        dataset = relay.create_dataset(args.name[0], artifact_types=args.type or [], description=args.description)
        out.data(dataset, lambda: print(dataset["id"]))
        return 0
    if args.action == "show":
        dataset = relay.find_dataset(args.name[0])

        def human():
            print(
                f"{dataset['name']}  {dataset['id']}  {dataset['audio_count']} file(s), "
                f"{dataset['total_duration_ms'] / 1000:.1f} s"
            )
            table(dataset["artifact_types"], ["name", "color", "description"])

        out.data(dataset, human)
        return 0
    if args.action == "delete":
        dataset = relay.find_dataset(args.name[0])
        relay.delete_dataset(dataset)
        out.info(f"deleted dataset {dataset['id']}")
        return 0
    items = list(relay.iter_datasets(name=args.name[0] if args.name else None, ordering="-created_at"))
    out.data(
        items,
        lambda: table(
            items,
            [
                "id",
                "name",
                "audio_count",
                ("seconds", lambda d: d["total_duration_ms"] / 1000),
                ("types", lambda d: ",".join(t["name"] for t in d["artifact_types"])),
                "created_at",
            ],
        ),
    )
    return 0


def cmd_upload(relay, args, out):
    dataset = relay.find_dataset(args.dataset)
    results = relay.upload(
        dataset,
        args.paths,
        workers=args.workers,
        progress=not args.quiet and not args.json,
        skip_existing=not args.no_skip,
        wait=args.wait,
        timeout=args.timeout,
    )
    rows = [
        {
            "path": str(r.path),
            "filename": r.filename,
            "size": r.size,
            "content_type": r.content_type,
            "status": r.status,
            "id": r.id,
            "error": r.error,
            "processing_status": (r.record or {}).get("processing_status"),
            "processing_error": (r.record or {}).get("error_message") or None,
        }
        for r in results
    ]
    counts = {s: sum(r.status == s for r in results) for s in ("uploaded", "skipped", "failed")}

    def human():
        columns = ["filename", "status", "content_type", "size", "id"]
        if args.wait:
            columns += ["processing_status", "processing_error"]
        table(rows, columns + ["error"])
        print(f"{counts['uploaded']} uploaded, {counts['skipped']} already there, {counts['failed']} failed")

    out.data({"dataset_id": dataset["id"], "counts": counts, "files": rows}, human)
    processing_failed = args.wait and any(r["processing_status"] == "failed" for r in rows)
    return 1 if counts["failed"] else 7 if processing_failed else 0


def _set_for(relay, dataset, value, out, create_draft=False):
    try:
        return relay.find_annotation_set(dataset, value)
    except errors.NotFound:
        if not create_draft or value != "draft":
            raise
    created = relay.create_annotation_set(dataset)
    out.info(f"created draft v{created['version']} ({created['id']})")
    return created


def cmd_annotations(relay, args, out):
    dataset = relay.find_dataset(args.dataset)
    if args.action == "import":
        annotation_set = _set_for(relay, dataset, args.set or "draft", out, create_draft=True)
        result = relay.import_annotations(dataset, annotation_set, args.file, format=args.format)
        summary = result["annotation_set"]
        out.data(
            result,
            lambda: print(
                f"{result['created']} annotation(s) imported into v{summary['version']} "
                f"({summary['id']}, {summary['status']})"
            ),
        )
        return 0
    annotation_set = _set_for(relay, dataset, args.set or "latest", out)
    data = relay.export_annotations(dataset, annotation_set, format=args.format or "csv")
    if args.out:
        Path(args.out).write_bytes(data)
        out.info(f"wrote {len(data)} bytes to {args.out}")
    else:
        sys.stdout.buffer.write(data)
    return 0


def cmd_publish(relay, args, out):
    dataset = relay.find_dataset(args.dataset)
    annotation_set = relay.find_annotation_set(dataset, args.set or "draft")
    published = relay.publish(dataset, annotation_set)
    by_type = published["annotations_by_type"]
    out.data(
        published,
        lambda: print(
            f"published v{published['version']} ({published['id']}): {published['total_annotations']} "
            f"annotation(s) {by_type}"
        ),
    )
    return 0


def _config_arg(text):
    try:
        value = json.loads(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not JSON: {text}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("the config is a JSON object")
    return value


def cmd_train(relay, args, out):
    dataset = relay.find_dataset(args.dataset)
    if args.set:
        annotation_set = relay.find_annotation_set(dataset, args.set)
    else:
        published = list(relay.iter_annotation_sets(dataset, status="published", ordering="-version"))
        if not published:
            raise errors.NotFound(404, "the dataset has no published annotation set: relay publish DATASET first")
        annotation_set = published[0]
    settings = dict(args.config or {})
    for name in ("epochs", "seed", "batch_size", "learning_rate", "validation_split"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    types = args.types.split(",") if args.types else None
    job = relay.create_training_job(dataset, annotation_set, types, config=settings, name=args.name)
    out.info(f"training job {job['id']} on v{annotation_set['version']}")
    if args.wait:
        job = relay.wait(job, progress=not args.quiet and not args.json, timeout=args.timeout, raise_on_failure=False)

    def human():
        print(f"{job['id']}  {job['status']}" + (f"  model {job['model_id']}" if job.get("model_id") else ""))
        if job.get("error_message"):
            print(job["error_message"])
        per_type = (job.get("metrics") or {}).get("per_type") or {}
        if per_type:
            table([{"type": k, **v} for k, v in per_type.items()], ["type", "precision", "recall", "f1"])

    out.data(job, human)
    return 7 if job["status"] in ("failed", "cancelled") else 0


def _find_model(relay, value):
    if value == "latest":
        models = list(relay.iter_models(ordering="-created_at"))
        if not models:
            raise errors.NotFound(404, "no model yet: relay train DATASET --wait")
        return models[0]
    if len(value) == 36 and value.count("-") == 4:
        return relay.get_model(value)
    found = [m for m in relay.iter_models(name=value) if m["name"] == value]
    if not found:
        raise errors.NotFound(404, f"no model {value!r} (give an id, a name or latest)")
    return sorted(found, key=lambda m: m["created_at"])[-1]


def _inference_config(args):
    config = {}
    for name in ("threshold", "merge_window_ms", "min_duration_ms"):
        if getattr(args, name) is not None:
            config[name] = getattr(args, name)
    return config or None


def cmd_infer(relay, args, out):
    model = _find_model(relay, args.model)
    bars = not args.quiet and not args.json
    if not args.wait:
        job = relay.infer(model, args.paths, config=_inference_config(args), wait=False, progress=bars)
        out.data(job, lambda: print(job["id"]))
        return 0
    results = relay.infer(model, args.paths, config=_inference_config(args), progress=bars, timeout=args.timeout)
    if args.out:
        written = results.save(args.out, args.format)
        out.info(f"{len(results)} detection(s) in {len(results.files)} file(s) -> {', '.join(map(str, written))}")
    rows = results.rows()
    if not args.out or args.json:
        out.data(
            results.to_json(),
            lambda: table(rows, ["original_filename", "artifact_type", "start_ms", "end_ms", "confidence"]),
        )
    for f in results.failed_files:
        out.info(f"failed: {f['original_filename']}: {f.get('error_message')}")
    return 7 if results.failed_files else 0


def cmd_watch(relay, args, out):
    from relay_client.watch import Watcher

    model = _find_model(relay, args.model)
    watcher = Watcher(
        relay,
        model,
        args.folder,
        args.out,
        fmt=args.format,
        config=_inference_config(args),
        state=args.state,
        batch_size=args.batch,
        log=out.info,
    )
    out.info(f"watching {args.folder} with model {model['id']}" + ("" if args.once else " (Ctrl-C stops)"))
    state = watcher.run(interval=args.interval, once=args.once)
    if args.once:
        out.data(
            state.files,
            lambda: table(
                [{"file": k, **v} for k, v in sorted(state.files.items())], ["file", "status", "detections", "output"]
            ),
        )
    return 0


def cmd_plot(relay, args, out):
    job = relay.get_inference_job(args.job)
    files = job["files"]
    if args.file:
        chosen = [f for f in files if args.file in (f["id"], f["original_filename"])]
        if not chosen:
            raise errors.NotFound(404, f"the job has no file {args.file!r}")
    else:
        chosen = files
    if not chosen:
        raise errors.NotFound(404, "the job has no files")
    written = []
    for f in chosen:
        if f["status"] != "completed":
            out.info(
                f"{f['original_filename']}: {f['status']}"
                + (f" ({f['error_message']})" if f.get("error_message") else "")
                + ": no plot"
            )
            continue
        if args.out and len(chosen) == 1:
            target = Path(args.out)
        else:
            folder = Path(args.out) if args.out else Path(".")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{Path(f['original_filename']).stem}.png"
        relay.save_plot(job, f, target)
        written.append(str(target))
    out.data(written, lambda: [print(w) for w in written])
    return 0 if written else 7


def cmd_jobs(relay, args, out):
    if args.count:
        counts = relay.jobs_count()
        out.data(
            counts,
            lambda: table(
                [{"kind": k, **v} for k, v in counts.items()], ["kind", "queued", "running", "total", "by_status"]
            ),
        )
        return 0
    rows = []
    filters = {"status": args.status, "ordering": "-created_at"}
    if args.kind in ("all", "training"):
        rows += [{"kind": "training", **j} for j in _take(relay.iter_training_jobs(**filters), args.limit)]
    if args.kind in ("all", "inference"):
        rows += [{"kind": "inference", **j} for j in _take(relay.iter_inference_jobs(**filters), args.limit)]
    rows.sort(key=lambda j: j["created_at"], reverse=True)
    rows = rows[: args.limit]
    out.data(
        rows,
        lambda: table(
            rows,
            [
                "kind",
                "id",
                "status",
                ("progress", lambda j: f"{100 * j['progress']:.0f}%"),
                (
                    "detail",
                    lambda j: (
                        j.get("stage")
                        or (f"{j.get('processed_files')}/{j.get('total_files')} files" if "total_files" in j else "")
                    ),
                ),
                "created_at",
                "error_message",
            ],
        ),
    )
    return 0


def _take(iterator, limit):
    out = []
    for item in iterator:
        out.append(item)
        if len(out) >= limit:
            break
    return out


def cmd_models(relay, args, out):
    if args.action == "show":
        model = _find_model(relay, args.model)

        def human():
            print(f"{model['name']}  {model['id']}  types {', '.join(model['artifact_types'])}")
            per_type = (model.get("metrics") or {}).get("per_type") or {}
            table([{"type": k, **v} for k, v in per_type.items()], ["type", "precision", "recall", "f1"])

        out.data(model, human)
        return 0
    if args.action == "download":
        model = _find_model(relay, args.model)
        path = relay.download_model(model, args.out or f"{model['id']}.relay")
        out.info(f"wrote {path}")
        return 0
    items = _take(relay.iter_models(ordering="-created_at"), args.limit)
    out.data(
        items,
        lambda: table(
            items,
            [
                "id",
                "name",
                ("types", lambda m: ",".join(m["artifact_types"])),
                ("macro_f1", lambda m: (m.get("metrics") or {}).get("macro_f1")),
                "dataset_id",
                "created_at",
            ],
        ),
    )
    return 0


def cmd_keys(relay, args, out):
    if args.action == "create":
        key = relay.create_api_key(name=args.name, scopes=args.scope or None, expires_at=args.expires_at)
        out.data(
            key, lambda: print(f"{key['key']}\n(shown once: keep it; id {key['id']}, scopes {','.join(key['scopes'])})")
        )
        return 0
    if args.action == "revoke":
        if not args.name:
            raise SystemExit("relay keys revoke KEY_ID")
        key = relay.revoke_api_key(args.name)
        out.data(key, lambda: print(f"revoked {key['id']} ({key['name']})"))
        return 0
    items = list(relay.iter_api_keys())
    out.data(
        items,
        lambda: table(
            items,
            [
                "id",
                "name",
                "prefix",
                ("scopes", lambda k: ",".join(k["scopes"])),
                "expires_at",
                "revoked_at",
                "last_used_at",
            ],
        ),
    )
    return 0


def completion_script(parser, shell):
    """A bash (or zsh, through bashcompinit) completion of the commands, their options and
    choices, from the parser itself."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    top = [o for a in parser._actions for o in a.option_strings]
    cases = []
    for name, command in sub.choices.items():
        words = [o for a in command._actions for o in a.option_strings]
        words += [c for a in command._actions if not a.option_strings and a.choices for c in a.choices]
        cases.append(f'    {name}) words="{" ".join(words)}" ;;')
    script = f"""# relay completion: eval "$(relay completion {shell})"
_relay() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" words
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "{" ".join(sub.choices)} {" ".join(top)}" -- "$cur"))
    return
  fi
  case "${{COMP_WORDS[1]}}" in
{chr(10).join(cases)}
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}}
complete -o default -o bashdefault -F _relay relay
"""
    if shell == "zsh":
        script = "autoload -U +X bashcompinit && bashcompinit\n" + script
    return script


def cmd_completion(relay, args, out):
    print(completion_script(build_parser(), args.shell), end="")
    return 0


# Parser ----------------------------------------------------------------------------------
def build_parser():
    def connection_options(suppress):
        # Subcommands take the options too (`relay upload --json ...`); their defaults are
        # suppressed so that they never override what was given before the command.
        extra = {"default": argparse.SUPPRESS} if suppress else {}
        common = argparse.ArgumentParser(add_help=False)
        group = common.add_argument_group("connection and output")
        group.add_argument(
            "--api-url", help="the server (default: RELAY_API_URL, the config file, http://127.0.0.1:8000)", **extra
        )
        group.add_argument("--api-key", help="the API key (default: RELAY_API_KEY or the config file)", **extra)
        group.add_argument("--profile", help="a [profiles.NAME] table of the config file", **extra)
        group.add_argument("--json", action="store_true", help="JSON on stdout, for scripts", **extra)
        group.add_argument("-q", "--quiet", action="store_true", help="no progress bars or messages on stderr", **extra)
        return common

    common = connection_options(suppress=True)

    parser = argparse.ArgumentParser(
        prog="relay",
        description="The command line of Relay: datasets, uploads, labels, training and inference.",
        epilog=f"{ENVIRONMENT}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[connection_options(suppress=False)],
    )
    parser.add_argument("--version", action="version", version=f"relay-client {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name, func, help_text, description=None):
        p = sub.add_parser(
            name,
            help=help_text,
            description=description or help_text,
            parents=[common],
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    command("status", cmd_status, "the server's dependencies (exit 8 when degraded)")

    p = command(
        "datasets",
        cmd_datasets,
        "list, show, create or delete datasets",
        "relay datasets | relay datasets show NAME | relay datasets create NAME --type glitch --type hum",
    )
    p.add_argument("action", nargs="?", choices=("list", "show", "create", "delete"), default="list")
    p.add_argument("name", nargs="*", help="the dataset (name or id); for list, a name filter")
    p.add_argument("--type", action="append", help="an artifact type of a new dataset (repeat)")
    p.add_argument("--description")

    p = command(
        "upload",
        cmd_upload,
        "upload files, folders (recursed) or globs to a dataset",
        "Uploads audio to a dataset. Content types come from the files' bytes. Files already in the "
        "dataset with the same name and size are skipped, so running it again after an interruption "
        "sends only what is missing.",
    )
    p.add_argument("dataset", help="name or id")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs ('data/**/*.flac')")
    p.add_argument("--workers", type=int, default=4, help="files sent at once (4)")
    p.add_argument("--wait", action="store_true", help="wait until every file is ready or failed")
    p.add_argument("--no-skip", action="store_true", help="send files even when the dataset has them")
    p.add_argument("--timeout", type=float, help="seconds --wait waits at most")

    p = command(
        "annotations",
        cmd_annotations,
        "import labels into a draft, or export a set",
        "relay annotations import DATASET labels.csv [--set draft|VERSION|ID]\n"
        "relay annotations export DATASET [--set latest|VERSION|ID] --format csv --out labels.csv",
    )
    p.add_argument("action", choices=("import", "export"))
    p.add_argument("dataset", help="name or id")
    p.add_argument("file", nargs="?", help="import: the file to read")
    p.add_argument("--set", help="import: a draft (default: the newest draft, made if none); export: default latest")
    p.add_argument(
        "--format",
        choices=("json", "jsonl", "csv", "audacity", "label-studio", "edge-impulse"),
        help="default: from the file's suffix (import), csv (export)",
    )
    p.add_argument("--out", help="export: the file to write (default stdout)")

    p = command("publish", cmd_publish, "publish a draft annotation set (it locks)")
    p.add_argument("dataset", help="name or id")
    p.add_argument("set", nargs="?", help="the draft (version or id; default the newest draft)")

    p = command("train", cmd_train, "train a model on a published annotation set")
    p.add_argument("dataset", help="name or id")
    p.add_argument("--set", help="version or id (default: the newest published set)")
    p.add_argument("--types", help="comma-separated artifact types (default: all of the dataset)")
    p.add_argument("--name")
    p.add_argument("--epochs", type=int)
    p.add_argument("--seed", type=int)
    p.add_argument("--batch-size", dest="batch_size", type=int)
    p.add_argument("--learning-rate", dest="learning_rate", type=float)
    p.add_argument("--validation-split", dest="validation_split", type=float)
    p.add_argument("--config", type=_config_arg, help="the training config as JSON (other options override it)")
    p.add_argument("--wait", action="store_true", help="wait for the end with a progress bar (exit 7 if it fails)")
    p.add_argument("--timeout", type=float)

    def inference_options(p):
        p.add_argument("--threshold", type=float, help="for every type (default: calibrated per type)")
        p.add_argument("--merge-window-ms", dest="merge_window_ms", type=int, help="default: calibrated per type")
        p.add_argument("--min-duration-ms", dest="min_duration_ms", type=int, help="default: calibrated per type")

    p = command(
        "infer",
        cmd_infer,
        "run a model over local files",
        "relay infer MODEL FILES... --wait --out detections.csv  (MODEL: id, name or latest)",
    )
    p.add_argument("model", help="id, name or latest")
    p.add_argument("paths", nargs="+", metavar="PATH", help="files, folders or globs")
    p.add_argument("--wait", action="store_true", help="wait for the results (else print the job id)")
    p.add_argument("--out", help="write the results: .csv, .json, or .txt (Audacity labels)")
    p.add_argument("--format", choices=("csv", "json", "audacity"), help="default: from --out's suffix")
    p.add_argument("--timeout", type=float)
    inference_options(p)

    p = command(
        "watch",
        cmd_watch,
        "send new files of a folder to inference as they appear",
        "Watches FOLDER: each new audio file (once its size stops changing) goes to inference; its "
        "results are written beside it (or under --out) as FILE.csv. A state file (.relay-watch.json "
        "in --out) records what was sent, so that after a restart nothing is sent twice.",
    )
    p.add_argument("model", help="id, name or latest")
    p.add_argument("folder")
    p.add_argument("--out", help="results folder (default: FOLDER)")
    p.add_argument("--format", choices=("csv", "json", "audacity"), default="csv")
    p.add_argument("--state", help="the state file (default OUT/.relay-watch.json)")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between scans (5)")
    p.add_argument("--batch", type=int, default=20, help="files per inference job (20)")
    p.add_argument("--once", action="store_true", help="process what is there now, then exit")
    inference_options(p)

    p = command("plot", cmd_plot, "save the plot (waveform, spectrogram, detections) of inference files")
    p.add_argument("job", help="the inference job id")
    p.add_argument("file", nargs="?", help="a file id or filename (default: every file)")
    p.add_argument("--out", help="a .png (one file) or a folder")

    p = command("jobs", cmd_jobs, "recent training and inference jobs, or their counts")
    p.add_argument("--kind", choices=("all", "training", "inference"), default="all")
    p.add_argument("--status", choices=("pending", "queued", "processing", "completed", "failed", "cancelled"))
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--count", action="store_true", help="counts per kind and status")

    p = command("models", cmd_models, "list, show or download models")
    p.add_argument("action", nargs="?", choices=("list", "show", "download"), default="list")
    p.add_argument("model", nargs="?", default="latest", help="id, name or latest")
    p.add_argument("--out", help="download: the file to write")
    p.add_argument("--limit", type=int, default=50)

    p = command("keys", cmd_keys, "list, create or revoke API keys (scope admin)")
    p.add_argument("action", nargs="?", choices=("list", "create", "revoke"), default="list")
    p.add_argument("name", nargs="?", help="create: the key's name; revoke: its id")
    p.add_argument("--scope", action="append", help="a scope of the new key (repeat; default: the caller's)")
    p.add_argument("--expires-at", dest="expires_at", help="ISO 8601 time")
    p = command(
        "completion",
        cmd_completion,
        "print a shell completion script",
        'bash: eval "$(relay completion bash)" in ~/.bashrc; zsh: eval "$(relay completion zsh)" in ~/.zshrc',
    )
    p.add_argument("shell", choices=("bash", "zsh"))
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    out = Output(args)
    from relay_client.client import Relay

    relay = None
    if args.func is cmd_completion:
        return cmd_completion(None, args, out)
    try:
        relay = Relay(args.api_url, args.api_key, profile=args.profile)
        return args.func(relay, args, out)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except TimeoutError as error:
        print(f"relay: {error}", file=sys.stderr)
        return 124
    except (errors.RelayError, errors.ConfigError) as error:
        if args.json:
            json.dump(
                {
                    "error": type(error).__name__,
                    "status": getattr(error, "status", None),
                    "detail": getattr(error, "detail", str(error)),
                },
                sys.stdout,
                default=str,
            )
            sys.stdout.write("\n")
        print(f"relay: {error}", file=sys.stderr)
        return exit_code(error)
    except (FileNotFoundError, ValueError) as error:
        print(f"relay: {error}", file=sys.stderr)
        return 2
    finally:
        if relay is not None:
            relay.close()


if __name__ == "__main__":
    sys.exit(main())
