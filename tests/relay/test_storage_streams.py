"""Reading an object while it downloads (`storage.arriving`), against the real S3 server."""

import io
import threading

import numpy as np
import pytest
import soundfile as sf

from detector import pipeline
from detector.features import FeatureConfig
from relay import storage


@pytest.fixture
def stored_wav(tmp_path):
    samples = (np.random.default_rng(5).standard_normal((16000 * 95, 2)) * 0.2).astype(np.float32)
    path = tmp_path / "long.wav"
    sf.write(path, samples, 16000, subtype="PCM_16")
    key = f"tests/arriving/{tmp_path.name}/long.wav"
    storage.upload(path, key, content_type="audio/wav")
    yield key, path
    storage.delete(key)


def test_reads_and_seeks_give_the_objects_bytes(stored_wav, tmp_path):
    key, path = stored_wav
    data = path.read_bytes()
    with storage.arriving(key, tmp_path) as stream:
        assert stream.seek(0, io.SEEK_END) == len(data)  # the size is known before the bytes arrive
        stream.seek(len(data) - 1000)
        assert stream.read(5000) == data[-1000:]
        stream.seek(12345)
        assert stream.read(100_000) == data[12345 : 12345 + 100_000]
        stream.seek(0)
        assert stream.read() == data
        assert stream.read(10) == b""


def test_decoding_from_the_arriving_object_equals_decoding_the_file(stored_wav, tmp_path):
    key, path = stored_wav
    expected, expected_info = pipeline.file_features(path, FeatureConfig(), "audio/wav")
    with storage.arriving(key, tmp_path) as stream:
        features, info = pipeline.file_features(stream, FeatureConfig(), "audio/wav")
    assert info == expected_info
    np.testing.assert_array_equal(features, expected)


def test_a_reader_that_stops_early_ends_the_download(stored_wav, tmp_path):
    key, _ = stored_wav
    before = threading.active_count()
    with storage.arriving(key, tmp_path) as stream:
        stream.read(10)
    assert threading.active_count() == before


def test_a_missing_object_is_object_missing(tmp_path):
    with pytest.raises(storage.ObjectMissing), storage.arriving("tests/arriving/none/such.wav", tmp_path):
        pass


@pytest.mark.parametrize("seconds", [0.5, 40])
def test_small_and_one_chunk_objects_decode_the_same(tmp_path, seconds):
    """Objects of at most one chunk are read in one call (no download thread); larger ones
    arrive on a thread: both give the file's features."""
    samples = (np.random.default_rng(6).standard_normal(int(16000 * seconds)) * 0.2).astype(np.float32)
    path = tmp_path / "short.wav"
    sf.write(path, samples, 16000, subtype="PCM_16")
    key = f"tests/arriving/{tmp_path.name}/short.wav"
    storage.upload(path, key, content_type="audio/wav")
    try:
        expected, expected_info = pipeline.file_features(path, FeatureConfig(), "audio/wav")
        with storage.arriving(key, tmp_path) as stream:
            read_whole = isinstance(stream, io.BytesIO)
            features, info = pipeline.file_features(stream, FeatureConfig(), "audio/wav")
        assert read_whole == (path.stat().st_size <= 1 << 20)
        assert info == expected_info
        np.testing.assert_array_equal(features, expected)
    finally:
        storage.delete(key)


@pytest.fixture
def small_parts(monkeypatch):
    """1 MB first part, then ranged GETs: the 6 MB test object arrives in four parts at once."""
    monkeypatch.setattr(storage._Arriving, "FIRST_PART", 1 << 20)


def test_an_object_arriving_in_parts_reads_as_its_bytes(stored_wav, tmp_path, small_parts):
    test_reads_and_seeks_give_the_objects_bytes(stored_wav, tmp_path)
    test_decoding_from_the_arriving_object_equals_decoding_the_file(stored_wav, tmp_path)


@pytest.mark.parametrize("size", [0, 5])
def test_empty_and_tiny_objects_arrive_whole(tmp_path, size):
    key = f"tests/arriving/{tmp_path.name}/tiny.bin"
    storage.put_bytes(key, b"x" * size, content_type="application/octet-stream")
    try:
        with storage.arriving(key, tmp_path) as stream:
            assert stream.read() == b"x" * size
    finally:
        storage.delete(key)
