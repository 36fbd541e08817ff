import re

import pytest
from django.contrib.auth.models import User

from relay.models import ApiKey
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = User.objects.create_superuser("ops", "ops@example.com", "pw")
    client.force_login(user)
    return client


def test_admin_pages_render(staff_client, api):
    for url in (
        "/admin/",
        "/admin/relay/tenant/",
        "/admin/relay/apikey/",
        "/admin/datasets/dataset/",
        f"/admin/relay/tenant/{api.tenant.pk}/change/",
        f"/admin/relay/apikey/{api.api_key.pk}/change/",
        "/admin/relay/apikey/?state=active",
        "/admin/relay/apikey/?q=tenant-a",
        "/admin/relay/apikey/add/",
    ):
        response = staff_client.get(url, secure=True)
        assert response.status_code == 200, url


def test_add_key_shows_secret_once(staff_client, api):
    response = staff_client.post(
        "/admin/relay/apikey/add/",
        {
            "tenant": api.tenant.pk,
            "name": "from admin",
            "scopes": ["datasets:read"],
            "expires_at_0": "",
            "expires_at_1": "",
        },
        follow=True,
        secure=True,
    )
    assert response.status_code == 200
    raw_key = re.search(r"rk_[a-z0-9]{12}_[A-Za-z0-9_-]{43}", response.content.decode()).group(0)
    key = ApiKey.objects.get(name="from admin")
    assert key.scopes == ["datasets:read"] and raw_key.startswith(f"rk_{key.prefix}_")
    assert Api(raw_key).get("/datasets").status_code == 200
    page = staff_client.get(f"/admin/relay/apikey/{key.pk}/change/", secure=True).content.decode()
    assert raw_key not in page


def test_revoke_action(staff_client, api):
    response = staff_client.post(
        "/admin/relay/apikey/", {"action": "revoke", "_selected_action": [api.api_key.pk]}, follow=True, secure=True
    )
    assert response.status_code == 200
    assert ApiKey.objects.get(pk=api.api_key.pk).revoked_at is not None
    assert api.get("/datasets").status_code == 401


def test_audio_admin_shows_a_player_and_reprocesses(staff_client, api):
    from django.utils import timezone

    from datasets.models import AudioFile, AudioStatus

    dataset = api.post("/datasets", {"name": "d", "artifact_types": [{"name": "a"}]}).json()
    audio = AudioFile.objects.create(
        dataset_id=dataset["id"],
        filename="x.wav",
        content_type="audio/wav",
        file_size=10,
        storage_key=f"t/{dataset['id']}/audio/1/original.wav",
        upload_expires_at=timezone.now(),
        confirmed_at=timezone.now(),
        status=AudioStatus.FAILED,
        error_message="boom",
    )
    for url in (
        "/admin/datasets/audiofile/",
        "/admin/datasets/audiofile/?status__exact=failed",
        f"/admin/datasets/audiofile/{audio.pk}/change/",
    ):
        assert staff_client.get(url, secure=True).status_code == 200, url
    page = staff_client.get(f"/admin/datasets/audiofile/{audio.pk}/change/", secure=True).content.decode()
    assert "<audio controls" in page and "X-Amz-Signature" in page
    staff_client.post(
        "/admin/datasets/audiofile/", {"action": "reprocess", "_selected_action": [audio.pk]}, secure=True
    )
    audio.refresh_from_db()
    assert audio.status == AudioStatus.NORMALIZING and audio.error_message == ""


def test_job_admin_cancel_actions(staff_client, api):
    from inference.models import InferenceJob
    from training.models import Model

    model = Model.objects.create(tenant=api.tenant, name="m", annotation_set_version=1, storage_key="x")
    running = InferenceJob.objects.create(tenant=api.tenant, model=model, status="processing")
    done = InferenceJob.objects.create(tenant=api.tenant, model=model, status="completed")
    for url in (
        "/admin/inference/inferencejob/",
        f"/admin/inference/inferencejob/{running.pk}/change/",
        "/admin/training/trainingjob/",
        "/admin/training/model/",
    ):
        assert staff_client.get(url, secure=True).status_code == 200, url
    staff_client.post(
        "/admin/inference/inferencejob/", {"action": "cancel", "_selected_action": [running.pk, done.pk]}, secure=True
    )
    running.refresh_from_db()
    done.refresh_from_db()
    assert (running.status, done.status) == ("cancelled", "completed")


# --- the operator console ------------------------------------------------------------------

LONG_ERROR = "the decoder gave up: " + "frame header damaged, " * 20 + "the end"
METRICS = {
    "per_type": {
        "glitch": {"precision": 0.75, "recall": 0.6, "f1": 0.6667, "support": 5, "tp": 3, "fp": 1, "fn": 2},
        "hum": {"precision": None, "recall": None, "f1": None, "support": 0, "tp": 0, "fp": 0, "fn": 0},
    },
    "macro_f1": 0.6667,
    "micro_f1": 0.6667,
    "validation_files": 2,
    "best_epoch": 3,
    "stopped_early": True,
}
HISTORY = [
    {"epoch": epoch, "train_loss": 1 / epoch, "validation_loss": 1.1 / epoch, "validation_macro_f1": 0.2 * epoch}
    for epoch in range(1, 5)
]


def ago(seconds):
    from datetime import timedelta

    from django.utils import timezone

    return timezone.now() - timedelta(seconds=seconds)


@pytest.fixture
def model(api):
    from training.models import Model

    return Model.objects.create(
        tenant=api.tenant,
        name="detector v1",
        annotation_set_version=1,
        artifact_types=["glitch", "hum"],
        metrics=METRICS,
        storage_key=f"tenants/{api.tenant.pk}/models/1/model.pt",
    )


@pytest.fixture
def console_data(api, model):
    """A bit of everything the console shows: a training job running, one lost, an
    inference job with a failed file, a file queued long ago and never started."""
    from django.utils import timezone

    from inference.models import InferenceFile, InferenceJob
    from training.models import TrainingJob

    running = TrainingJob.objects.create(
        tenant=api.tenant,
        name="podcasts v1",
        annotation_set_version=1,
        status="processing",
        stage="training",
        progress=0.42,
        history=HISTORY,
        metrics=METRICS,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
    )
    lost = TrainingJob.objects.create(
        tenant=api.tenant,
        name="lost one",
        annotation_set_version=1,
        status="processing",
        started_at=ago(3600),
        heartbeat_at=ago(600),
        attempts=1,
        task_id="task-of-a-dead-worker",
    )
    job = InferenceJob.objects.create(tenant=api.tenant, model=model, status="processing", total_files=3)
    prefix = f"{job.storage_prefix}files/"
    failed = InferenceFile.objects.create(
        job=job,
        filename="broken.wav",
        content_type="audio/wav",
        file_size=10,
        storage_key=f"{prefix}1/original.wav",
        confirmed_at=timezone.now(),
        status="failed",
        error_message=LONG_ERROR,
    )
    waiting = InferenceFile.objects.create(
        job=job,
        filename="waiting.wav",
        content_type="audio/wav",
        file_size=10,
        storage_key=f"{prefix}2/original.wav",
        confirmed_at=timezone.now(),
        status="queued",
    )
    InferenceFile.objects.filter(pk=waiting.pk).update(updated_at=ago(3600))
    InferenceJob.objects.filter(pk=job.pk).update(failed_files=1)
    return {"running": running, "lost": lost, "job": job, "failed": failed, "waiting": waiting}


def page(client, url):
    response = client.get(url, secure=True)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


def test_index_links_the_dashboard(staff_client):
    assert 'href="/admin/dashboard/"' in page(staff_client, "/admin/")


def test_dashboard_shows_dependencies_queues_workers_and_work(staff_client, console_data):
    from relay import health

    html = page(staff_client, "/admin/dashboard/")
    for service in ("database", "broker", "storage"):
        assert f"<td>{service}</td>" in html
    assert 'class="state-ok"' in html and 'class="state-down">down' not in html
    for queue in health.queues():  # every lifecycle queue, with its depth
        assert re.search(rf"<tr><td>{queue}</td><td>\d+</td>", html), queue
    assert "Live workers (" in html
    for kind in ("audio_file", "training_job", "evaluation", "inference_job", "inference_file"):
        assert f'id="kind-{kind}"' in html
    # counts by status, linked to the filtered lists
    assert '/admin/inference/inferencefile/?status__exact=failed">1</a>' in html
    # the latest failure with its whole error message, linked to its page
    failed = console_data["failed"]
    assert f'/admin/inference/inferencefile/{failed.pk}/change/">broken.wav</a>' in html
    assert LONG_ERROR in html
    # stuck: the training job without a heartbeat, the file queued an hour ago
    lost, waiting = console_data["lost"], console_data["waiting"]
    assert f'/admin/training/trainingjob/{lost.pk}/change/">lost one</a>' in html
    assert "no heartbeat for 10" in html and "task-of-a-dead-worker" in html
    assert f'/admin/inference/inferencefile/{waiting.pk}/change/">waiting.wav</a>' in html
    assert "never started" in html
    assert f'/admin/training/trainingjob/{console_data["running"].pk}/change/"' not in html  # alive


def test_dashboard_shows_a_broker_that_is_down(staff_client, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.RELAY_DEPENDENCY_TIMEOUT = 0.5
    html = page(staff_client, "/admin/dashboard/")
    assert 'class="state-down">down' in html and "the broker did not answer" in html


def test_the_live_worker_list_is_one_function(staff_client, monkeypatch):
    from relay import health

    workers = {"celery@alpha": ["audio", "default"], "celery@beta": ["audio", "training"]}
    monkeypatch.setattr(health, "live_workers", lambda: workers)
    html = page(staff_client, "/admin/dashboard/")
    assert "Live workers (2)" in html and "<tr><td>celery@alpha</td><td>audio, default</td></tr>" in html
    assert "<tr><td>audio</td><td>0</td><td>2 workers</td></tr>" in html
    assert "<tr><td>training</td><td>0</td><td>1 worker</td></tr>" in html
    assert '<tr><td>inference</td><td>0</td><td><span class="state-down">no live worker</span>' in html


def test_dashboard_lists_a_real_worker_and_its_queues(staff_client, celery_worker_process):
    html = page(staff_client, "/admin/dashboard/")
    worker = re.search(r"<tr><td>(test-\d+@[^<]+)</td><td>([^<]+)</td></tr>", html)
    assert worker and worker.group(2) == "audio, default, inference, training, webhooks", html
    assert "no live worker" not in html


def test_console_pages_are_for_staff_only(client, console_data):
    job = console_data["running"]
    urls = ("/admin/dashboard/", f"/admin/training/trainingjob/{job.pk}/history.svg")
    for url in urls:
        response = client.get(url, secure=True)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.force_login(User.objects.create_user("someone", "someone@example.com", "pw"))  # not staff
    for url in urls:
        response = client.get(url, secure=True)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def test_training_job_pages_show_progress_chart_and_metrics(staff_client, console_data):
    job = console_data["running"]
    listing = page(staff_client, "/admin/training/trainingjob/")
    assert '<progress max="1" value="0.4200"' in listing and "42% · training" in listing
    html = page(staff_client, f"/admin/training/trainingjob/{job.pk}/change/")
    assert '<progress max="1" value="0.4200"' in html
    chart_url = f"/admin/training/trainingjob/{job.pk}/history.svg?epochs=4"
    assert f'<img src="{chart_url}"' in html
    assert '<table class="metrics-table">' in html and "<td>glitch</td>" in html and "0.750" in html
    chart = staff_client.get(chart_url, secure=True)
    assert chart.status_code == 200 and chart["Content-Type"] == "image/svg+xml"
    assert b"<svg" in chart.content and b"</svg>" in chart.content


def test_a_job_without_history_has_no_chart_yet(staff_client, console_data):
    html = page(staff_client, f"/admin/training/trainingjob/{console_data['lost'].pk}/change/")
    assert "no epoch finished yet" in html and "history.svg" not in html


def test_model_metrics_are_a_table_and_only_the_name_changes(staff_client, model):
    html = page(staff_client, f"/admin/training/model/{model.pk}/change/")
    assert '<table class="metrics-table">' in html
    assert "<td>hum</td>" in html and "–" in html  # no reference, no detection: undefined, not 0
    assert "best epoch: <strong>3</strong>" in html and "stopped early: <strong>yes</strong>" in html
    assert 'name="_save"' in html and "deletelink" not in html
    response = staff_client.post(f"/admin/training/model/{model.pk}/change/", {"name": "renamed"}, secure=True)
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.name == "renamed" and model.metrics == METRICS


def test_evaluation_pages(staff_client, api, model):
    from training.models import Evaluation

    evaluation = Evaluation.objects.create(
        tenant=api.tenant, model=model, annotation_set_version=1, status="failed", error_message=LONG_ERROR
    )
    listing = page(staff_client, "/admin/training/evaluation/")
    assert '<progress max="1"' in listing and f'title="{LONG_ERROR}"' in listing
    Evaluation.objects.filter(pk=evaluation.pk).update(status="completed", progress=1.0, metrics=METRICS)
    html = page(staff_client, f"/admin/training/evaluation/{evaluation.pk}/change/")
    assert '<table class="metrics-table">' in html and '<progress max="1" value="1.0000"' in html


def test_inference_pages_show_progress_errors_and_a_player(staff_client, console_data, settings):
    job, failed = console_data["job"], console_data["failed"]
    listing = page(staff_client, "/admin/inference/inferencejob/")
    assert "33% · 1 of 3 files" in listing
    html = page(staff_client, f"/admin/inference/inferencejob/{job.pk}/change/")
    assert "1 of 3 files" in html and f'title="{LONG_ERROR}"' in html  # the files inline
    failed_list = page(staff_client, "/admin/inference/inferencefile/?status__exact=failed")
    excerpt = re.search(r'<span class="error-excerpt" title="([^"]*)"[^>]*>([^<]*)</span>', failed_list)
    assert excerpt.group(1) == LONG_ERROR and len(excerpt.group(2)) <= 60 and excerpt.group(2).endswith("…")
    html = page(staff_client, f"/admin/inference/inferencefile/{failed.pk}/change/")
    player = re.search(r'<audio controls preload="none" src="([^"]+)"', html).group(1)
    assert "X-Amz-Signature" in player and "original.wav" in player
    assert f"X-Amz-Expires={settings.RELAY_DOWNLOAD_URL_EXPIRES}" in player


def test_audio_files_list_errors(staff_client, api):
    from django.utils import timezone

    from datasets.models import AudioFile

    dataset = api.post("/datasets", {"name": "d", "artifact_types": [{"name": "a"}]}).json()
    AudioFile.objects.create(
        dataset_id=dataset["id"],
        filename="x.wav",
        content_type="audio/wav",
        file_size=10,
        storage_key=f"t/{dataset['id']}/audio/2/original.wav",
        upload_expires_at=timezone.now(),
        status="failed",
        error_message=LONG_ERROR,
    )
    html = page(staff_client, "/admin/datasets/audiofile/?status__exact=failed")
    assert f'title="{LONG_ERROR}"' in html


READ_ONLY = (
    "trainingjob",
    "evaluation",
    "inferencejob",
    "inferencefile",
    "audiofile",
    "annotation",
    "event",
    "webhookendpoint",
    "webhookdelivery",
    "workerheartbeat",
)


def test_every_admin_page_keeps_invariants(rf):
    """No relay model can be deleted from the admin (deletes go through services that remove
    stored objects and respect locks); what workers and services write cannot be edited."""
    from django.contrib import admin

    request = rf.get("/admin/")
    request.user = User(is_staff=True, is_superuser=True)
    ours = {"relay", "datasets", "annotations", "training", "inference"}
    checked = set()
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label not in ours:
            continue
        checked.add(model._meta.model_name)
        assert not model_admin.has_delete_permission(request), model
        if model._meta.model_name in READ_ONLY:
            assert not model_admin.has_change_permission(request) and not model_admin.has_add_permission(request)
    assert checked >= set(READ_ONLY) | {"tenant", "apikey", "dataset", "model", "annotationset"}


def test_read_only_pages_have_no_save_or_delete(staff_client, api, console_data):
    from inference.models import InferenceFile

    file = console_data["failed"]
    job = console_data["running"]
    for url in (
        f"/admin/training/trainingjob/{job.pk}/change/",
        f"/admin/inference/inferencejob/{file.job_id}/change/",
        f"/admin/inference/inferencefile/{file.pk}/change/",
    ):
        html = page(staff_client, url)
        assert 'name="_save"' not in html and "deletelink" not in html, url
        assert staff_client.post(url, {"status": "completed"}, secure=True).status_code == 403, url
    assert InferenceFile.objects.get(pk=file.pk).status == "failed"
    for url in ("/admin/training/trainingjob/", "/admin/inference/inferencefile/"):
        html = page(staff_client, url)
        assert f'href="{url}add/"' not in html and 'value="delete_selected"' not in html, url


@pytest.fixture
def annotated(api):
    """A dataset with two audio files, a published set and a draft holding 3 annotations of 2 types."""
    from django.utils import timezone

    from annotations.models import Annotation, AnnotationSet
    from datasets.models import ArtifactType, AudioFile, Dataset

    dataset = Dataset.objects.create(tenant=api.tenant, name="podcasts")
    glitch = ArtifactType.objects.create(dataset=dataset, name="glitch")
    hum = ArtifactType.objects.create(dataset=dataset, name="hum")
    files = [
        AudioFile.objects.create(
            dataset=dataset,
            filename=f"{n}.wav",
            content_type="audio/wav",
            file_size=10,
            storage_key=f"{dataset.storage_prefix}audio/{n}/original.wav",
            upload_expires_at=timezone.now(),
            status="ready",
        )
        for n in range(2)
    ]
    published = AnnotationSet.objects.create(
        dataset=dataset, version=1, status="published", published_at=timezone.now(), total_annotations=7
    )
    draft = AnnotationSet.objects.create(dataset=dataset, version=2, name="draft")
    for audio, kind, start in ((files[0], glitch, 0), (files[0], glitch, 5000), (files[1], hum, 1000)):
        Annotation.objects.create(
            annotation_set=draft, audio_file=audio, artifact_type=kind, start_ms=start, end_ms=start + 500
        )
    return {"draft": draft, "published": published}


def test_draft_sets_show_live_counts(staff_client, annotated):
    draft, published = annotated["draft"], annotated["published"]
    listing = page(staff_client, "/admin/annotations/annotationset/")
    row = re.search(rf'href="/admin/annotations/annotationset/{draft.pk}/change/".*?</tr>', listing, re.S).group(0)
    assert '<td class="field-annotation_count">3</td>' in row and '<td class="field-files">2</td>' in row
    assert '>glitch: 2</span> · <span style="white-space: nowrap">hum: 1</span>' in row and "1.5 s" in row
    row = re.search(rf'href="/admin/annotations/annotationset/{published.pk}/change/".*?</tr>', listing, re.S).group(0)
    assert '<td class="field-annotation_count">7</td>' in row  # stored when it was published
    html = page(staff_client, f"/admin/annotations/annotationset/{draft.pk}/change/")
    assert "live: counted now" in html and "<td>glitch</td><td style='text-align: right'>2</td>" in html
    assert 'name="_save"' in html and "deletelink" not in html
    html = page(staff_client, f"/admin/annotations/annotationset/{published.pk}/change/")
    assert 'name="_save"' not in html and "stored when the set was published" in html


def test_renaming_a_draft_saves_the_name_only(staff_client, annotated):
    from annotations.models import AnnotationSet

    draft = annotated["draft"]
    url = f"/admin/annotations/annotationset/{draft.pk}/change/"
    assert staff_client.post(url, {"name": "renamed"}, secure=True).status_code == 302
    draft.refresh_from_db()
    assert (draft.name, draft.status, draft.total_annotations) == ("renamed", "draft", 0)
    AnnotationSet.objects.filter(pk=draft.pk).update(status="published")  # published meanwhile
    assert staff_client.post(url, {"name": "again"}, secure=True).status_code == 403
    draft.refresh_from_db()
    assert draft.name == "renamed"


def test_saving_a_key_does_not_undo_a_revocation(staff_client, api, monkeypatch):
    from django.utils import timezone

    from relay.admin import ApiKeyAdmin

    loaded = ApiKeyAdmin.get_object

    def revoked_meanwhile(self, request, object_id, from_field=None):
        api_key = loaded(self, request, object_id, from_field)
        ApiKey.objects.filter(pk=api_key.pk).update(revoked_at=timezone.now())  # through the API, say
        return api_key

    monkeypatch.setattr(ApiKeyAdmin, "get_object", revoked_meanwhile)
    url = f"/admin/relay/apikey/{api.api_key.pk}/change/"
    form = {"name": "renamed", "expires_at_0": "", "expires_at_1": ""}
    assert staff_client.post(url, form, secure=True).status_code == 302
    key = ApiKey.objects.get(pk=api.api_key.pk)
    assert key.name == "renamed" and key.revoked_at is not None
