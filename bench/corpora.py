"""The benchmark's two corpus families behind one interface, cached on disk.

- "synth": `training.demo_data.generate` (detector/synth.py), the generator the detector was designed on.
- "field": `bench/field_corpus.py`, made independently of it (speech synthesizers, real channels).

    files = corpus("field", seed=1, n_files=30)   # [CorpusFile]: encoded bytes on disk + labels
    train_file = server_view(files[0])            # what the server would have: a TrainFile
    mp3 = as_mp3(files[0], kbps=64)               # the same recording re-encoded as MP3

`corpus` writes each file's encoded bytes and a labels JSON under
~/.cache/relay-bench/corpora/<family>-<generator digest>/ (RELAY_BENCH_CACHE moves the root),
so a benchmark never generates the same file twice; the digest of the generator's source
files is in the folder name, so changing a generator starts a new cache. File i of a seed
depends only on the seed and i, so a smaller corpus is a prefix of a larger one.
`server_view` follows the product's pipeline: the bytes written to a file, `decode_to_canonical`
with the declared content type, float16 features (the server's cache type) read back as
float32, the original sample rate; features are cached under the digest of the decoder's
and extractor's source files.
"""

import functools
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

import field_corpus  # noqa: E402

from detector.audio import decode_to_canonical  # noqa: E402
from detector.features import FeatureConfig, extractor_for  # noqa: E402
from detector.train import TrainFile  # noqa: E402

KINDS = ("glitch", "dropout", "long_pause", "hum", "clipping")
FAMILIES = ("synth", "field")
# The synth family's held-out files come at rates its training files never have (as bench/detection.py).
SYNTH_TEST_RATES = (8000, 11025, 32000, 48000, 22050, 44100, 16000)
GENERATOR_SOURCES = {
    "synth": ("detector/synth.py", "training/demo_data.py"),
    "field": ("bench/field_corpus.py", "bench/field_text.py"),
}
FEATURE_SOURCES = ("detector/audio.py", "detector/features.py")


@dataclass
class CorpusFile:
    key: str  # unique across families, seeds and variants
    family: str
    filename: str
    path: Path  # the encoded file
    content_type: str
    sample_rate: int
    duration_ms: int
    events: list  # (kind, start_ms, end_ms)
    details: list = field(default_factory=list)  # field family: per event "stage/style"

    def data(self) -> bytes:
        return self.path.read_bytes()


FEATURES = FeatureConfig()  # what the benchmarks extract and train on; bench/cross_corpus.py --feature-version sets it


def use_features(config: FeatureConfig):
    global FEATURES
    FEATURES = config


def cache_root(cache_dir=None) -> Path:
    return Path(cache_dir) if cache_dir else field_corpus.CACHE_DIR


@functools.cache
def digest(relative_paths: tuple) -> str:
    """A short digest of source files' contents, taken once per process (the code that runs is the code
    that was imported, even if someone edits the files meanwhile)."""
    sha = hashlib.sha1()
    for relative in relative_paths:
        sha.update((BASE_DIR / relative).read_bytes())
    return sha.hexdigest()[:10]


def corpus(family, seed, n_files, seconds_per_file=60.0, role="train", cache_dir=None, log=None) -> list[CorpusFile]:
    """Files 0..n_files-1 of a family for a seed, generated once and then read from the cache.

    `role` "test" gives the synth family the held-out sample rates (SYNTH_TEST_RATES); the
    field family draws its rates per file either way.
    """
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family}; one of {FAMILIES}")
    folder = cache_root(cache_dir) / "corpora" / f"{family}-{digest(GENERATOR_SOURCES[family])}"
    folder = folder / f"seed{seed}-{seconds_per_file:g}s-{role}"
    folder.mkdir(parents=True, exist_ok=True)
    missing = [i for i in range(n_files) if not (folder / f"{i:03d}.json").exists()]
    if missing:
        if log:
            log(f"  generating {len(missing)} {family} files (seed {seed}, {seconds_per_file:g} s each) ...")
        started = time.perf_counter()
        made = _generate(family, seed, n_files, missing, seconds_per_file, role, cache_dir)
        for done, (index, made_file) in enumerate(made, 1):
            _store(folder, index, made_file)
            if log and (done % 10 == 0 or done == len(missing)):
                log(f"    {done}/{len(missing)} {family} files ({time.perf_counter() - started:.0f} s)")
    return [_load(folder, family, seed, i) for i in range(n_files)]


def _generate(family, seed, n_files, missing, seconds, role, cache_dir):
    """(index, DemoFile-like) for each missing index."""
    if family == "field":
        speech = field_corpus.Speech(cache_dir)
        return ((i, field_corpus.make_file(seed, i, seconds, speech)) for i in missing)
    from training import demo_data

    rates = {"sample_rates": SYNTH_TEST_RATES} if role == "test" else {}
    wanted = set(missing)
    made = demo_data.generate(seed, max(missing) + 1, seconds, kinds=KINDS, **rates)
    return ((i, f) for i, f in enumerate(made) if i in wanted and i < n_files)


def _store(folder, index, made):
    suffix = Path(made.filename).suffix
    _write_whole(folder / f"{index:03d}{suffix}", made.data)
    labels = {
        "filename": made.filename,
        "audio": f"{index:03d}{suffix}",
        "content_type": made.content_type,
        "sample_rate": made.sample_rate,
        "duration_ms": made.duration_ms,
        "events": [list(e) for e in made.events],
        "details": list(getattr(made, "details", [])),
        "channel": getattr(made, "channel", {}),
    }
    _write_whole(folder / f"{index:03d}.json", json.dumps(labels).encode())


def _write_whole(path: Path, data: bytes):
    """Write `data` under another name, then rename it to `path`: a process that makes the same
    cache entry at the same time never reads half of it."""
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, path)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _load(folder, family, seed, index) -> CorpusFile:
    labels = json.loads((folder / f"{index:03d}.json").read_text())
    return CorpusFile(
        key=f"{family}/{folder.name}/{labels['filename']}",
        family=family,
        filename=labels["filename"],
        path=folder / labels["audio"],
        content_type=labels["content_type"],
        sample_rate=labels["sample_rate"],
        duration_ms=labels["duration_ms"],
        events=[tuple(e) for e in labels["events"]],
        details=labels["details"],
    )


def as_mp3(file: CorpusFile, kbps=64) -> CorpusFile:
    """The same recording encoded as MP3 (PyAV's LAME) next to the original; labels shifted by any codec delay."""
    path = file.path.with_name(f"{file.path.stem}.{kbps}k.mp3")
    if not path.exists():
        samples, rate = sf.read(io.BytesIO(file.data()), dtype="float64", always_2d=True)
        _write_whole(path, field_corpus.encode_lossy(samples, rate, "mp3", kbps))
    return CorpusFile(
        key=f"{file.key}@mp3-{kbps}k",
        family=file.family,
        filename=path.name,
        path=path,
        content_type="audio/mpeg",
        sample_rate=file.sample_rate,
        duration_ms=file.duration_ms,
        events=list(file.events),
        details=list(file.details),
    )


def canonical_features(file: CorpusFile, cache_dir=None) -> tuple[np.ndarray, int, int]:
    """(float16 features, source sample rate, canonical duration ms), as the server computes and caches them."""
    data = file.data()
    key = hashlib.sha1(data + file.content_type.encode()).hexdigest()[:24]
    folder = cache_root(cache_dir) / "features" / digest(FEATURE_SOURCES) / FEATURES.cache_key
    folder.mkdir(parents=True, exist_ok=True)
    path, meta_path = folder / f"{key}.npy", folder / f"{key}.json"
    if not meta_path.exists():
        with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
            original = Path(tmp) / f"original{Path(file.filename).suffix}"
            original.write_bytes(data)
            canonical = Path(tmp) / "canonical.flac"
            info = decode_to_canonical(original, canonical, content_type=file.content_type)
            features = extractor_for(FEATURES).from_file(canonical, dtype=np.float16)
        _write_whole(path, _npy(features))
        _write_whole(meta_path, json.dumps({"sample_rate": info.sample_rate, "duration_ms": info.duration_ms}).encode())
    meta = json.loads(meta_path.read_text())
    return np.load(path), meta["sample_rate"], meta["duration_ms"]


def canonical_waveform(file: CorpusFile) -> np.ndarray:
    """The canonical samples (16 kHz mono float32 at 16-bit precision) the server would store for this upload."""
    from detector.audio import read_canonical_blocks

    with tempfile.TemporaryDirectory(prefix="relay-bench-") as tmp:
        original = Path(tmp) / f"original{Path(file.filename).suffix}"
        original.write_bytes(file.data())
        canonical = Path(tmp) / "canonical.flac"
        decode_to_canonical(original, canonical, content_type=file.content_type)
        return np.concatenate(list(read_canonical_blocks(canonical)))


def variant_features(file: CorpusFile, k: int, cache_dir=None, without=()) -> tuple[list[np.ndarray], float]:
    """Features (float16) of `k` waveform-level augmented copies of the file (detector.augment), seeded by
    the file's key, and the seconds it took to make them (decoding, the copies and their features),
    cached under the digest of the decoder's, extractor's and augmenter's sources."""
    from detector import augment

    data = file.data()
    tag = f"k{k}" + "".join(f"-no-{effect}" for effect in sorted(without))  # k2 alone: the keys of old caches
    key = hashlib.sha1(data + file.content_type.encode() + tag.encode()).hexdigest()[:24]
    folder = (
        cache_root(cache_dir) / "variants" / digest(FEATURE_SOURCES + ("detector/augment.py",)) / FEATURES.cache_key
    )
    folder.mkdir(parents=True, exist_ok=True)
    path, meta_path = folder / f"{key}.npy", folder / f"{key}.json"
    if not meta_path.exists():
        started = time.perf_counter()
        samples = canonical_waveform(file)
        seed = int(hashlib.sha1(file.key.encode()).hexdigest()[:8], 16)
        copies = augment.augmented_copies(
            samples, _labels(file), KINDS, k, seed, probabilities={e: 0.0 for e in without}
        )
        extractor = extractor_for(FEATURES)
        stacked = np.stack([extractor.from_array(c).astype(np.float16) for c, _ in copies])
        seconds = time.perf_counter() - started
        _write_whole(path, _npy(stacked))
        _write_whole(meta_path, json.dumps({"seconds": seconds, "done": [d for _, d in copies]}).encode())
    meta = json.loads(meta_path.read_text())
    return list(np.load(path)), meta["seconds"]


@functools.lru_cache(maxsize=128)
def _waveform(file_key, path, filename, content_type):
    probe = CorpusFile(file_key, "", filename, Path(path), content_type, 0, 0, [])
    return canonical_waveform(probe)


def pasted_variant_features(file: CorpusFile, donors, k: int, cache_dir=None) -> tuple[list, float]:
    """[(float16 features, events)] of `k` copies of the file with events of `donors` (other CorpusFiles)
    pasted in and then through the channel chain (detector.augment.pasted_copies), seeded by the file's
    key, and the seconds it took (the donors' decoding not counted: it is shared by all the files);
    cached under the donors' keys too."""
    from detector import augment

    donors = [d for d in donors if d.key != file.key]
    names = "\n".join(sorted(d.key for d in donors))
    key = hashlib.sha1(file.data() + file.content_type.encode() + f"paste{k}".encode() + names.encode()).hexdigest()
    folder = cache_root(cache_dir) / "pasted" / digest(FEATURE_SOURCES + ("detector/augment.py",)) / FEATURES.cache_key
    folder.mkdir(parents=True, exist_ok=True)
    path, meta_path = folder / f"{key[:24]}.npz", folder / f"{key[:24]}.json"
    if not meta_path.exists():
        pieces = [(_waveform(d.key, str(d.path), d.filename, d.content_type), _labels(d)) for d in donors]
        started = time.perf_counter()
        samples = _waveform(file.key, str(file.path), file.filename, file.content_type)
        seed = int(hashlib.sha1(file.key.encode()).hexdigest()[:8], 16)
        copies = augment.pasted_copies(samples, _labels(file), pieces, KINDS, k, seed)
        extractor = extractor_for(FEATURES)
        stacked = np.stack([extractor.from_array(c).astype(np.float16) for c, _, _ in copies])
        seconds = time.perf_counter() - started
        np.savez(path, features=stacked)
        meta = {"seconds": seconds, "events": [e for _, e, _ in copies], "done": [d for _, _, d in copies]}
        meta_path.write_text(json.dumps(meta))
    meta = json.loads(meta_path.read_text())
    stacked = np.load(path)["features"]
    return [(stacked[i], [tuple(e) for e in meta["events"][i]]) for i in range(k)], meta["seconds"]


def _labels(file: CorpusFile):
    return [(KINDS.index(kind), int(start), int(end)) for kind, start, end in file.events]


def server_view(file: CorpusFile, cache_dir=None, variants=0, without=()) -> TrainFile:
    """The TrainFile the server would build for this upload: float16 features read back as float32;
    with `variants` > 0, that many augmented copies' features (float16) as TrainFile.variants."""
    features, rate, _ = canonical_features(file, cache_dir)
    copies = variant_features(file, variants, cache_dir, without)[0] if variants else []
    return TrainFile(
        key=file.key,
        features=features.astype(np.float32),
        events=_labels(file),
        source_sample_rate=rate,
        variants=copies,
    )


def describe(files) -> dict:
    """Minutes, files and events per kind of a list of CorpusFile."""
    counts = {kind: 0 for kind in KINDS}
    for f in files:
        for kind, *_ in f.events:
            counts[kind] += 1
    return {"files": len(files), "minutes": sum(f.duration_ms for f in files) / 60000, "events": counts}


def to_json(file: CorpusFile) -> dict:
    out = asdict(file)
    out["path"] = str(file.path)
    return out
