"""The accepted audio formats (one table), and decoding any upload into canonical audio:
mono, 16 kHz, 16-bit FLAC.

libsndfile (soundfile) reads WAV, FLAC, Ogg and MP3; FFmpeg (PyAV) reads MP4/M4A, AAC
and WebM. Audio is streamed block by block through a downmix and a polyphase resampler
(soxr), so memory stays flat however long the file is. Durations come from the samples
actually decoded, not from headers.
"""

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import soundfile as sf
import soxr

CANONICAL_RATE = 16000
BLOCK_FRAMES = 1 << 16
HINT_LIMIT_S = 24 * 3600  # a header claiming more is not believed (see CanonicalStream.expected_samples)


@dataclass(frozen=True)
class AudioFormat:
    """An accepted audio format: how it is declared, named, decoded and recognised."""

    content_type: str  # the declared Content-Type
    aliases: tuple[str, ...]  # other Content-Types that mean the same
    suffixes: tuple[str, ...]  # file name endings; the first names stored objects
    decoder: str  # "soundfile" (libsndfile) or "av" (FFmpeg)
    containers: frozenset[str]  # what the decoder reports for such a file


FORMATS = (
    AudioFormat(
        "audio/wav", ("audio/x-wav", "audio/wave"), (".wav",), "soundfile", frozenset({"WAV", "WAVEX", "RF64", "W64"})
    ),
    AudioFormat("audio/flac", (), (".flac",), "soundfile", frozenset({"FLAC"})),
    AudioFormat("audio/ogg", (), (".ogg", ".oga", ".opus"), "soundfile", frozenset({"OGG"})),
    AudioFormat("audio/mpeg", (), (".mp3",), "soundfile", frozenset({"MP3"})),
    AudioFormat("audio/mp4", (), (".m4a", ".mp4"), "av", frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2"})),
    AudioFormat("audio/aac", (), (".aac",), "av", frozenset({"aac"})),
    AudioFormat("audio/webm", (), (".webm",), "av", frozenset({"matroska", "webm"})),
)  # fmt: skip
_BY_CONTENT_TYPE = {name: fmt for fmt in FORMATS for name in (fmt.content_type, *fmt.aliases)}
# Every Content-Type an upload may declare.
CONTENT_TYPES = frozenset(_BY_CONTENT_TYPE)


def format_for(content_type) -> AudioFormat:
    try:
        return _BY_CONTENT_TYPE[content_type]
    except KeyError:
        raise DecodeError(f"unsupported content type {content_type}") from None


def suffix_for(content_type) -> str:
    return format_for(content_type).suffixes[0]


def described_formats() -> list[dict]:
    """The table as the API's /info shows it."""
    return [
        {"content_type": f.content_type, "aliases": list(f.aliases), "extensions": list(f.suffixes)} for f in FORMATS
    ]


class DecodeError(Exception):
    """The file cannot be used: the message says why, in words for the user."""


@dataclass(frozen=True)
class AudioInfo:
    sample_rate: int
    channels: int
    frames: int
    format: str
    content_type: str = ""  # what the file really is (may differ from what was declared)

    @property
    def duration_ms(self) -> int:
        return round(self.frames * 1000 / self.sample_rate)


@dataclass
class Source:
    sample_rate: int
    channels: int
    format: str
    blocks: Iterator[np.ndarray]  # float32, shape (frames, channels)
    content_type: str = ""
    pcm16: bool = False  # 16-bit integer samples: finite and at 16-bit precision as decoded
    frames_hint: int | None = None  # what the header says (durations come from the decoded samples)


@contextmanager
def _soundfile_source(src, expected_formats, content_type):
    try:
        handle = sf.SoundFile(src)
    except (sf.LibsndfileError, RuntimeError) as error:
        raise DecodeError(f"not a readable {content_type} file: {_sf_reason(error)}") from None
    with handle:
        if handle.format not in expected_formats:
            raise DecodeError(f"declared {content_type} but the file is {handle.format} ({handle.subtype})")
        _check_not_truncated(handle)

        def blocks():
            try:
                while True:
                    block = handle.read(BLOCK_FRAMES, dtype="float32", always_2d=True)
                    if not len(block):
                        return
                    yield block
            except (sf.LibsndfileError, RuntimeError) as error:
                raise DecodeError(f"corrupt {content_type} data: {_sf_reason(error)}") from None

        pcm16 = handle.subtype == "PCM_16"
        yield Source(handle.samplerate, handle.channels, handle.format, blocks(), content_type, pcm16, handle.frames)


# libsndfile logs "data : <declared> (should be <actual>)" for a WAV whose data chunk is
# shorter than its header says. Streaming recorders write placeholder sizes; those are fine.
_DATA_LENGTH = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.MULTILINE)
_PLACEHOLDER_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0xFFFFFFFE}


def _check_not_truncated(handle):
    match = _DATA_LENGTH.search(handle.extra_info or "")
    if match:
        declared, actual = int(match[1]), int(match[2])
        if declared > actual and declared not in _PLACEHOLDER_SIZES:
            raise DecodeError(
                f"truncated file: its header declares {declared} bytes of audio data but it holds {actual}"
            )


def _sf_reason(error):
    return str(getattr(error, "error_string", "") or error).strip().rstrip(".")


@contextmanager
def _av_source(src, expected_formats, content_type):
    import av

    try:
        container = av.open(src)
    except (av.error.FFmpegError, UnicodeDecodeError) as error:
        raise DecodeError(f"not a readable {content_type} file: {error}") from None
    with container:
        names = set(container.format.name.split(","))
        if not names & expected_formats:
            raise DecodeError(f"declared {content_type} but the file is {container.format.long_name}")
        if not container.streams.audio:
            raise DecodeError(f"the {content_type} file has no audio stream")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate
        channels = stream.codec_context.channels
        if not rate or not channels:
            raise DecodeError(f"the {content_type} file's audio stream has no sample rate or channels")
        # Only a format conversion here (same rate and layout): soxr does the resampling.
        converter = av.AudioResampler(format="flt", layout=stream.codec_context.layout.name, rate=rate)

        def blocks():
            try:
                for frame in container.decode(stream):
                    frame.pts = None
                    for converted in converter.resample(frame):
                        yield converted.to_ndarray().reshape(-1, channels)
                for converted in converter.resample(None):
                    yield converted.to_ndarray().reshape(-1, channels)
            except av.error.FFmpegError as error:
                raise DecodeError(f"corrupt {content_type} data: {error}") from None

        yield Source(rate, channels, container.format.name, blocks(), content_type)


def _rewound(src):
    """A path as it is; a file object back at its start (it is read more than once)."""
    if hasattr(src, "seek"):
        src.seek(0)
    return src


def detect_content_type(src) -> str | None:
    """The accepted Content-Type the file's bytes are (libsndfile, then FFmpeg, probe the
    header, whatever the name or the declared type says), or None when neither reads it as
    an accepted format. `src`: a path or a seekable binary file."""
    try:
        with sf.SoundFile(_rewound(src)) as handle:
            found, decoder = {handle.format}, "soundfile"
    except (sf.LibsndfileError, RuntimeError):
        import av

        try:
            with av.open(_rewound(src)) as container:
                if not container.streams.audio:
                    return None
                found, decoder = set(container.format.name.split(",")), "av"
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError):
            return None
    for fmt in FORMATS:
        if fmt.decoder == decoder and found & fmt.containers:
            return fmt.content_type
    return None


def open_source(src, content_type):
    """`with open_source(src, type) as source:` the decoded stream of an upload (`src`: a
    path or a seekable binary file). A file
    declared as one accepted format but really another (a FLAC sent as audio/wav) is decoded
    as what it is; `source.content_type` says which. Otherwise errors name the declared type."""
    fmt = format_for(content_type)
    detected = detect_content_type(src)
    if detected is not None and format_for(detected) is not fmt:
        fmt, content_type = format_for(detected), detected
    opener = _soundfile_source if fmt.decoder == "soundfile" else _av_source
    return opener(_rewound(src), fmt.containers, content_type)


def quantize16(samples: np.ndarray) -> np.ndarray:
    """`samples` as a 16-bit canonical FLAC stores them (libsndfile scales by 32768 and clips),
    so features of decoded blocks equal features of the canonical file read back."""
    return (np.clip(np.rint(samples * 32768.0), -32768.0, 32767.0) * (1.0 / 32768.0)).astype(np.float32)


class CanonicalStream:
    """The canonical samples of a source, block by block: mono, 16 kHz float32 at 16-bit
    precision. Iterate once; `info` holds the source's facts after that."""

    def __init__(self, source: Source, max_duration_s=None):
        if not 1000 <= source.sample_rate <= 384000:
            raise DecodeError(f"sample rate {source.sample_rate} Hz is outside 1000-384000 Hz")
        self.source = source
        self.max_duration_s = max_duration_s
        self.frames = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        source = self.source
        max_frames = math.inf if self.max_duration_s is None else self.max_duration_s * source.sample_rate
        resampler = None  # soxr passes samples at the canonical rate through unchanged
        if source.sample_rate != CANONICAL_RATE:
            resampler = soxr.ResampleStream(source.sample_rate, CANONICAL_RATE, 1, dtype="float32", quality="HQ")
        for block in source.blocks:
            self.frames += len(block)
            if self.frames > max_frames:
                raise DecodeError(f"longer than the limit of {self.max_duration_s / 3600:g} hours")
            yield self._canonical(block, resampler)
        if resampler is not None:
            yield quantize16(resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
        if self.frames == 0:
            raise DecodeError("the file holds no audio samples")

    def _canonical(self, block, resampler):
        source = self.source
        if resampler is None and source.channels == 1 and source.pcm16:
            return block[:, 0]  # canonical as decoded: quantize16 would return the same samples
        # Float files can hold NaN or infinities (a broken encoder): as silence or full scale.
        block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
        mono = block.mean(axis=1) if source.channels > 1 else block[:, 0]
        if resampler is not None:
            mono = resampler.resample_chunk(np.ascontiguousarray(mono))
        return quantize16(mono)

    @property
    def expected_samples(self) -> int | None:
        """How many canonical samples the header promises (None when it does not say or says
        more than the limit): a hint for sizing buffers, nothing more."""
        source = self.source
        limit_s = HINT_LIMIT_S if self.max_duration_s is None else min(HINT_LIMIT_S, self.max_duration_s)
        if not source.frames_hint or source.frames_hint > limit_s * source.sample_rate:
            return None
        return math.ceil(source.frames_hint * CANONICAL_RATE / source.sample_rate)

    @property
    def info(self) -> AudioInfo:
        source = self.source
        return AudioInfo(source.sample_rate, source.channels, self.frames, source.format, source.content_type)


@contextmanager
def open_canonical(src_path, *, content_type, max_duration_s=None):
    """`with open_canonical(path, type) as stream:` iterate `stream` for canonical blocks,
    then read `stream.info`. Errors are DecodeError in words for the user."""
    with open_source(src_path, content_type) as source:
        yield CanonicalStream(source, max_duration_s)


def canonical_writer(dst_path):
    """The canonical FLAC file to write canonical blocks to (`with ... as out: out.write(b)`)."""
    return sf.SoundFile(dst_path, "w", CANONICAL_RATE, 1, subtype="PCM_16", format="FLAC")


def decode_to_canonical(src_path, dst_path, *, content_type, max_duration_s=None) -> AudioInfo:
    """Decode `src_path`, write the canonical FLAC to `dst_path`, return the source's facts."""
    with open_canonical(src_path, content_type=content_type, max_duration_s=max_duration_s) as stream:
        with canonical_writer(dst_path) as out:
            for block in stream:
                out.write(block)
        return stream.info


def read_canonical_blocks(path, block_frames=BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """The samples of a canonical file as float32 blocks."""
    yield from sf.blocks(str(path), blocksize=block_frames, dtype="float32")
