"""Screenshots of the operator console in the admin, taken with headless Chromium.

    python bench/screenshots.py --out bench/results/screenshots
    python bench/screenshots.py --out DIR --url https://relay.example.com --username ops --password ...

Without --url it starts the throwaway stack of the benchmarks (bench/harness.py) and puts
demo data in it through the API and real workers: a dataset of generated audio (one
upload is not audio and fails), a small detector trained on it, an inference job with a
broken file, a draft annotation set, and inference files waiting on a queue that no
worker consumes (RELAY_NEVER_STARTED_AFTER_S is lowered to 5 s so that they show as
stuck at once). Then it serves the web app, logs into the admin as a new superuser and
saves PNGs of the dashboard, the training jobs, one of them (with its chart), a model,
the inference jobs, one with a failed file, the failed files, an inference file (player
and plot) and the annotation sets.

With --url it logs in with the credentials given and shoots the same pages from what is
there. Chromium (Debian: `apt-get install chromium`) is driven over
--remote-debugging-pipe (CDP), so the script needs nothing beyond the standard library
and `requests` (Pillow keeps the PNGs small).
"""

import argparse
import base64
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import harness
import requests
from PIL import Image

WIDTH = 1440
MAX_HEIGHT = 4000
KINDS = ("glitch", "dropout", "hum")
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


# --- Chromium over the DevTools protocol ------------------------------------------------------


class Chromium:
    """Headless Chromium with CDP on fds 3 (commands in) and 4 (answers and events out),
    NUL-separated JSON messages."""

    def __init__(self, binary=None):
        binary = binary or next(
            (
                p
                for p in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser"))
                if p
            ),
            None,
        )
        if binary is None or not Path(binary).exists():
            raise SystemExit("chromium not found: apt-get install -y chromium")
        self.profile = tempfile.mkdtemp(prefix="relay-chromium-")
        commands_read, self._commands = os.pipe()
        self._answers, answers_write = os.pipe()

        def wire_pipes():
            # dup first, so that neither end is overwritten by the other's dup2 to 3 or 4
            inbound, outbound = os.dup(commands_read), os.dup(answers_write)
            os.dup2(inbound, 3)
            os.dup2(outbound, 4)

        self.process = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--mute-audio",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                "--password-store=basic",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],  # fmt: skip
            preexec_fn=wire_pipes,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(answers_write)
        self._buffer = b""
        self._next_id = 0

    def _read(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._answers, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium exited")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=60):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        return self.wait(lambda m: m.get("id") == self._next_id, timeout)

    def wait(self, matches, timeout=60):
        while True:
            message = self._read(timeout)
            if matches(message):
                if "error" in message:
                    raise RuntimeError(f"CDP error: {message['error']}")
                return message.get("result", message.get("params", {}))

    def page(self, cookies, base_url):
        """A new tab holding `cookies` ({name: value}) for `base_url`; its session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        for name, value in cookies.items():
            self.send("Network.setCookie", {"name": name, "value": value, "url": base_url}, session=session)
        return session

    def navigate(self, session, url):
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session, 180)

    def evaluate(self, session, expression):
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=session)
        return answer["result"].get("value")

    def screenshot(self, session, url, path):
        viewport = {"width": WIDTH, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", viewport, session=session)
        self.navigate(session, url)
        time.sleep(0.3)
        height = self.evaluate(session, "document.documentElement.scrollHeight")
        viewport["height"] = min(int(height), MAX_HEIGHT)
        self.send("Emulation.setDeviceMetricsOverride", viewport, session=session)
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        # 256 colours are plenty for admin pages and keep the committed PNGs small.
        image = Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB").quantize(colors=256)
        image.save(path, optimize=True)

    def close(self):
        try:
            self.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._commands, self._answers):
            os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


# --- the admin over HTTP ------------------------------------------------------------------


def log_in(base_url, username, password):
    """The session cookie of an admin login through the login form. Cookies are sent by hand:
    they are Secure, and the server may be plain HTTP on loopback."""
    login = f"{base_url}/admin/login/"
    form = requests.get(login, timeout=30)
    csrf = form.cookies["csrftoken"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = requests.post(
        login,
        data={"csrfmiddlewaretoken": token, "username": username, "password": password, "next": "/admin/"},
        headers={"Cookie": f"csrftoken={csrf}", "Referer": login},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302 or "sessionid" not in answer.cookies:
        raise SystemExit(f"admin login as {username} failed ({answer.status_code})")
    return answer.cookies["sessionid"]


def first_change_page(base_url, session_id, listing):
    """The first object's change page in a changelist (newest first), or None."""
    html = requests.get(f"{base_url}{listing}", headers={"Cookie": f"sessionid={session_id}"}, timeout=60).text
    path = listing.split("?")[0]
    found = re.search(rf'href="({re.escape(path)}{UUID}/change/)', html)
    return found.group(1) if found else None


def pages(base_url, session_id):
    """(png name, admin path) of each page to shoot; those with nothing to show are left out."""

    def first(listing):
        return first_change_page(base_url, session_id, listing)

    wanted = [
        ("dashboard", "/admin/dashboard/"),
        ("training-jobs", "/admin/training/trainingjob/"),
        ("training-job", first("/admin/training/trainingjob/?status__exact=completed")),
        ("model", first("/admin/training/model/")),
        ("inference-jobs", "/admin/inference/inferencejob/"),
        ("inference-job", first("/admin/inference/inferencejob/?failed_files__gt=0")),
        ("failed-inference-files", "/admin/inference/inferencefile/?status__exact=failed"),
        ("inference-file", first("/admin/inference/inferencefile/?status__exact=completed")),
        ("annotation-sets", "/admin/annotations/annotationset/"),
    ]
    return [(name, path) for name, path in wanted if path]


def shoot(base_url, session_id, out):
    out.mkdir(parents=True, exist_ok=True)
    browser = Chromium()
    try:
        tab = browser.page({"sessionid": session_id}, base_url)
        # The admin's navigation sidebar closed, as it remembers it: more room for the pages.
        browser.navigate(tab, f"{base_url}/admin/")
        browser.evaluate(tab, "localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")
        for name, path in pages(base_url, session_id):
            target = out / f"{name}.png"
            browser.screenshot(tab, f"{base_url}{path}", target)
            print(f"{target} ({target.stat().st_size // 1024} KB): {path}")
    finally:
        browser.close()


# --- demo data on the throwaway stack --------------------------------------------------------


def upload_inference_file(api, job_id, filename, data, content_type):
    ticket = api.post(
        f"/inference-jobs/{job_id}/files/upload-url",
        {"filename": filename, "file_size_bytes": len(data), "content_type": content_type},
    )
    api.upload(ticket["upload_url"], ticket["upload_fields"], data)
    api.post(f"/inference-jobs/{job_id}/files/confirm", {"file_id": ticket["file_id"]})


def demo_data(api):
    """Everything the console shows, made through the API and a real worker."""
    from training import demo_data as demo

    files = list(demo.generate(seed=5, files=8, seconds_per_file=30, kinds=KINDS, sample_rates=(16000, 22050)))
    dataset, published, audio_ids = demo.load_into_relay(api, files, "podcasts", kinds=KINDS, log=print)
    broken = b"RIFF....WAVEfmt this is not audio at all" * 40
    ticket = api.post(
        f"/datasets/{dataset['id']}/audio/upload-url",
        {"filename": "episode-13-broken.wav", "content_type": "audio/wav", "file_size": len(broken)},
    )
    api.upload(ticket["upload_url"], ticket["fields"], broken)
    api.post(f"/datasets/{dataset['id']}/audio/confirm", {"audio_id": ticket["audio_id"]})

    draft = api.post(f"/datasets/{dataset['id']}/annotation-sets", {"from_version": published["version"]})
    first_audio = next(iter(audio_ids.values()))
    api.post(
        f"/datasets/{dataset['id']}/annotation-sets/{draft['id']}/annotations/bulk",
        {"annotations": [{"audio_file_id": first_audio, "artifact_type": "hum", "start_ms": 2000, "end_ms": 4000}]},
    )

    config = {"artifact_types": list(KINDS), "epochs": 12, "validation_split": 0.25, "seed": 3}
    job = api.post(
        "/training-jobs",
        {"dataset_id": dataset["id"], "annotation_set_id": published["id"], "name": "podcasts v1", "config": config},
    )
    print("training", job["id"])
    job = api.wait(f"/training-jobs/{job['id']}", lambda body: body["status"] in ("completed", "failed"), timeout=1800)
    if job["status"] != "completed":
        raise SystemExit(f"training failed: {job['error_message']}")

    inference = api.post("/inference-jobs", {"model_id": job["model_id"], "expected_files": 3})
    for held_out in demo.generate(seed=77, files=2, seconds_per_file=20, kinds=KINDS, sample_rates=(16000,)):
        upload_inference_file(api, inference["id"], held_out.filename, held_out.data, held_out.content_type)
    upload_inference_file(api, inference["id"], "call-recording-truncated.wav", broken, "audio/wav")
    api.wait(f"/inference-jobs/{inference['id']}", lambda body: body["status"] == "completed", timeout=600)
    return job["model_id"], list(audio_ids.values())[:2]


@contextmanager
def demo_stack():
    """The throwaway stack with demo data and the web app; yields (base URL, username, password)."""
    os.environ.setdefault("RELAY_MIN_TRAINING_AUDIO_MS", "60000")
    os.environ.setdefault("RELAY_NEVER_STARTED_AFTER_S", "5")
    with harness.stack():
        from django.contrib.auth.models import User
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # the admin's CSS, served by WhiteNoise
        api = harness.Api("screenshots")
        logs = Path(tempfile.mkdtemp(prefix="relay-screenshots-"))
        with harness.worker(log_path=logs / "worker.log"):
            model_id, audio_ids = demo_data(api)
        # A worker for every queue but inference: the files of this job wait, and show as stuck.
        with harness.worker(queues="default,audio,training", log_path=logs / "worker-2.log"):
            api.post("/inference-jobs", {"model_id": model_id, "audio_file_ids": audio_ids})
            time.sleep(int(os.environ["RELAY_NEVER_STARTED_AFTER_S"]) + 2)
            password = secrets.token_urlsafe(16)
            User.objects.create_superuser("ops", "ops@example.com", password)
            with harness.web_server() as base_url:
                yield base_url, "ops", password


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNGs")
    parser.add_argument("--url", help="a running Relay (e.g. http://127.0.0.1:8000); default: a throwaway stack")
    parser.add_argument("--username", help="an admin user of --url")
    parser.add_argument("--password", help="its password (or RELAY_ADMIN_PASSWORD)")
    args = parser.parse_args()
    if args.url:
        password = args.password or os.environ.get("RELAY_ADMIN_PASSWORD")
        if not (args.username and password):
            parser.error("--url needs --username and --password (or RELAY_ADMIN_PASSWORD)")
        base_url = args.url.rstrip("/")
        shoot(base_url, log_in(base_url, args.username, password), args.out)
        return
    with demo_stack() as (base_url, username, password):
        shoot(base_url, log_in(base_url, username, password), args.out)


if __name__ == "__main__":
    main()
