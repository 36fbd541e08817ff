"""Test audio made here (no downloads): tones and noise in every accepted format."""

import io

import av
import numpy as np
import requests
import soundfile as sf

from tests.waiting import wait_until


def signal(duration_s, sample_rate, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    t = np.arange(n) / sample_rate
    mono = 0.3 * np.sin(2 * np.pi * 220 * t) + 0.02 * rng.standard_normal(n)
    data = np.stack([mono * (0.8 + 0.2 * c) for c in range(channels)], axis=1)
    return data.astype(np.float32)


def encode_soundfile(data, sample_rate, fmt, subtype=None):
    buffer = io.BytesIO()
    sf.write(buffer, data, sample_rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def encode_av(data, sample_rate, container, codec, rate=None):
    buffer = io.BytesIO()
    rate = rate or sample_rate
    layout = "mono" if data.shape[1] == 1 else "stereo"
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        planar = np.ascontiguousarray(data.T)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buffer.getvalue()


def wav(duration_s=1.0, sample_rate=16000, channels=1, subtype="PCM_16"):
    return encode_soundfile(signal(duration_s, sample_rate, channels), sample_rate, "WAV", subtype)


def upload_url(api, dataset_id, data, filename="a.wav", content_type="audio/wav", file_size=None):
    response = api.post(
        f"/datasets/{dataset_id}/audio/upload-url",
        {
            "filename": filename,
            "content_type": content_type,
            "file_size": len(data) if file_size is None else file_size,
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def post_to_s3(ticket, data, content_type=None):
    fields = dict(ticket["fields"])
    if content_type:
        fields["Content-Type"] = content_type
    return requests.post(ticket["upload_url"], data=fields, files={"file": ("upload", data)}, timeout=60)


def upload(api, dataset_id, data, filename="a.wav", content_type="audio/wav"):
    """upload-url, POST to S3, confirm: the three steps a client takes. Returns the audio id."""
    ticket = upload_url(api, dataset_id, data, filename, content_type)
    response = post_to_s3(ticket, data)
    assert response.status_code == 204, response.text
    confirmed = api.post(f"/datasets/{dataset_id}/audio/confirm", {"audio_id": ticket["audio_id"]})
    assert confirmed.status_code == 202, confirmed.json()
    return ticket["audio_id"]


def wait_processed(api, dataset_id, audio_id, timeout=60):
    def done():
        body = api.get(f"/datasets/{dataset_id}/audio/{audio_id}").json()
        return body if body["processing_status"] in ("ready", "failed") else None

    return wait_until(done, timeout=timeout, interval=0.2, message=f"audio {audio_id} to be processed")
