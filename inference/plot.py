"""plot.png of an inference file: waveform and mel spectrogram with the detections over them.

Drawn with matplotlib's object API (no pyplot: thread-safe in a web process). Long files
are reduced to at most MAX_COLUMNS columns (min/max envelope, max-pooled spectrogram) so
that a 1-hour file renders as fast as a short one; detections too short to see at that
scale are drawn at a minimum width with a marker. The PNG is cached in S3.
"""

import io
import tempfile
from pathlib import Path

import numpy as np

from detector.audio import decode_to_canonical
from detector.features import FeatureExtractor
from relay import storage
from relay.errors import Conflict

MAX_COLUMNS = 3000
PLOT_VERSION = 1
PALETTE = ["#E6194B", "#3CB44B", "#4363D8", "#F58231", "#911EB4", "#42D4F4", "#F032E6", "#9A6324"]


def _colors(inference_file, type_names):
    model = inference_file.job.model
    configured = (model.config.get("colors") if model is not None else None) or {}
    return {name: configured.get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(type_names)}


def _canonical_audio(inference_file, folder):
    """The file as canonical audio: a dataset file's stored copy, or the upload decoded again
    (plots are rare and cached; inference does not keep a copy for them)."""
    canonical = Path(folder) / "canonical.flac"
    if inference_file.audio_file is not None:
        storage.download(inference_file.audio_file.canonical_key, canonical)
        return canonical
    original = Path(folder) / "original"
    storage.download(inference_file.storage_key, original)
    decode_to_canonical(original, canonical, content_type=inference_file.content_type)
    return canonical


def png_for(inference_file) -> bytes:
    cache_key = inference_file.object_prefix + f"plot-v{PLOT_VERSION}.png"
    try:
        return storage.get_bytes(cache_key)
    except storage.ObjectMissing:
        pass
    with tempfile.TemporaryDirectory(prefix="relay-plot-") as tmp:
        try:
            png = render(_canonical_audio(inference_file, tmp), inference_file)
        except storage.ObjectMissing:
            raise Conflict(f"The audio of {inference_file.filename} is no longer in storage: nothing to plot") from None
    storage.put_bytes(cache_key, png, content_type="image/png")
    return png


def _envelope(samples, columns):
    usable = len(samples) // columns * columns
    if usable == 0:
        return np.arange(len(samples)), samples, samples
    blocks = samples[:usable].reshape(columns, -1)
    return np.arange(columns) * blocks.shape[1], blocks.min(axis=1), blocks.max(axis=1)


def render(canonical_path, inference_file) -> bytes:
    import soundfile as sf
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    samples, rate = sf.read(str(canonical_path), dtype="float32")
    duration_s = max(len(samples) / rate, 1e-3)
    extractor = FeatureExtractor()
    mel = extractor.from_array(samples)[:, : extractor.config.n_mels]
    if len(mel) > MAX_COLUMNS:
        pool = int(np.ceil(len(mel) / MAX_COLUMNS))
        pad = (-len(mel)) % pool
        mel = np.pad(mel, ((0, pad), (0, 0)), mode="edge").reshape(-1, pool, mel.shape[1]).max(axis=1)

    detections = list(inference_file.detections.all())
    detected = sorted({d.artifact_type for d in detections})
    model = inference_file.job.model
    type_names = list(model.artifact_types) if model is not None else []
    type_names += [name for name in detected if name not in type_names]
    colors = _colors(inference_file, type_names)

    figure = Figure(figsize=(14, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    wave_axes, spec_axes = figure.subplots(2, 1, sharex=True, height_ratios=[1, 1.4])
    positions, low, high = _envelope(samples, MAX_COLUMNS)
    wave_axes.fill_between(positions / rate, low, high, color="#333333", linewidth=0.4)
    wave_axes.set_ylim(-1.05, 1.05)
    wave_axes.set_ylabel("amplitude")
    spec_axes.imshow(
        mel.T,
        origin="lower",
        aspect="auto",
        cmap="magma",
        extent=(0, duration_s, 0, mel.shape[1]),
        interpolation="nearest",
    )
    spec_axes.set_ylabel("mel band")
    spec_axes.set_xlabel("time (s)")
    spec_axes.set_xlim(0, duration_s)

    min_width = duration_s / 400  # a detection is at least this wide on the plot
    for detection in detections:
        color = colors.get(detection.artifact_type, "#FF0000")
        start, end = detection.start_ms / 1000, detection.end_ms / 1000
        if end - start < min_width:
            middle = (start + end) / 2
            start, end = middle - min_width / 2, middle + min_width / 2
            wave_axes.plot([middle], [1.0], marker="v", color=color, markersize=7, clip_on=False)
        for axes in (wave_axes, spec_axes):
            axes.axvspan(start, end, color=color, alpha=0.35, linewidth=0)
        spec_axes.axvline(start, color=color, linewidth=0.8, alpha=0.9)

    counts = {name: sum(d.artifact_type == name for d in detections) for name in type_names}
    handles = [
        Line2D([0], [0], color=colors[name], linewidth=8, alpha=0.6, label=f"{name} ({counts[name]})")
        for name in type_names
    ]
    if handles:
        wave_axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    wave_axes.set_title(f"{inference_file.filename} - {duration_s:.1f} s, {len(detections)} detection(s)", loc="left")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
