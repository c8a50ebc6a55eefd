"""nnvae's training checkpoints (nnvae.app.checkpoint_file): every dtype
round-trips, every truncation and bit flip is refused, other files are told
apart, and a failed write keeps the previous checkpoint."""
from __future__ import annotations

import os
import struct
from collections import OrderedDict

import numpy as np
import pytest

from nnvae.app import checkpoint_file
from nnvae.app.checkpoint_file import CheckpointError, load_checkpoint, save_checkpoint
from nnvae.params_io import save_parameters


def _checkpoint_content():
    arrays = OrderedDict([
        ("params/fc1/affine/W", np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)),
        ("adam/t", np.array(1234, dtype=np.int64)),
        ("rng/state", np.arange(13, dtype=np.uint8)),
        ("big_endian", np.arange(3, dtype=">i4")),
        ("mask", np.array([True, False, True])),
        ("empty", np.zeros((0, 3), np.float64)),
        ("c", np.array([1 + 2j], np.complex64)),
    ])
    meta = {"iteration": 3000, "seed": 706, "losses": [503.848297, float("nan")],
            "rng": {"state": 2 ** 127 + 5, "name": "PCG64"}, "graph": "static"}
    return arrays, meta


def test_checkpoint_round_trip_mixed_dtypes(tmp_path):
    arrays, meta = _checkpoint_content()
    path = tmp_path / "ckpt.bin"
    save_checkpoint(path, arrays, meta)
    got, got_meta = load_checkpoint(path)
    assert list(got) == list(arrays)
    for name, arr in arrays.items():
        assert got[name].dtype == arr.dtype.newbyteorder("=") and got[name].shape == arr.shape
        np.testing.assert_array_equal(got[name], arr)
        assert got[name].flags.writeable
    assert got["adam/t"].dtype == np.int64 and int(got["adam/t"]) == 1234
    assert got_meta["rng"] == {"state": 2 ** 127 + 5, "name": "PCG64"}
    assert got_meta["iteration"] == 3000 and got_meta["losses"][0] == 503.848297
    assert np.isnan(got_meta["losses"][1])


def test_checkpoint_truncation_and_every_bit_flip_detected(tmp_path):
    arrays, meta = _checkpoint_content()
    path = tmp_path / "ckpt.bin"
    save_checkpoint(path, arrays, meta)
    data = path.read_bytes()
    bad = tmp_path / "bad.ckpt"
    for n in list(range(0, 70, 3)) + list(range(70, len(data), 41)) + [len(data) - 1]:
        bad.write_bytes(data[:n])
        with pytest.raises(CheckpointError, match="bad.ckpt") as info:
            load_checkpoint(bad)
        assert ("truncated" in str(info.value) or "magic" in str(info.value)
                or "version" in str(info.value))
    # Every byte position, decoded in memory (writing a file each time is slow).
    for pos in range(len(data)):
        flipped = bytearray(data)
        flipped[pos] ^= 1 << (pos % 8)
        with pytest.raises(CheckpointError, match="bad.ckpt"):
            checkpoint_file._decode_checkpoint(bad, bytes(flipped))
    for pos in (0, 20, 40, 100, len(data) - 1):  # and a few through the file
        flipped = bytearray(data)
        flipped[pos] ^= 0x10
        bad.write_bytes(bytes(flipped))
        with pytest.raises(CheckpointError, match="bad.ckpt"):
            load_checkpoint(bad)
    bad.write_bytes(data + b"\0")  # an extra byte is corruption too
    with pytest.raises(CheckpointError, match=r"corrupt or truncated: \d+ bytes"):
        load_checkpoint(bad)


def test_checkpoint_refuses_other_files(tmp_path):
    path = tmp_path / "p.protobuf"
    save_parameters(path, {"enc/affine/W": np.ones((2, 3), np.float32)})
    with pytest.raises(CheckpointError, match="not an nnvae checkpoint"):
        load_checkpoint(path)
    arrays, meta = _checkpoint_content()
    ck = tmp_path / "v2.ckpt"
    save_checkpoint(ck, arrays, meta)
    data = bytearray(ck.read_bytes())
    struct.pack_into("<I", data, 8, 2)
    ck.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="version 2 is not supported"):
        load_checkpoint(ck)


def test_checkpoint_rejects_bad_input(tmp_path):
    with pytest.raises(CheckpointError, match="not JSON-serialisable"):
        save_checkpoint(tmp_path / "c", {}, {"x": object()})
    with pytest.raises(CheckpointError, match="unsupported dtype object"):
        save_checkpoint(tmp_path / "c", {"o": np.array([None])}, {})
    assert os.listdir(tmp_path) == []



def test_checkpoint_failed_fsync_keeps_old_checkpoint(tmp_path, monkeypatch):
    arrays, meta = _checkpoint_content()
    path = tmp_path / "c.ckpt"
    save_checkpoint(path, arrays, meta)
    before = path.read_bytes()

    def failing_fsync(fd):
        raise OSError(5, "Input/output error (simulated)")

    monkeypatch.setattr(checkpoint_file.os, "fsync", failing_fsync)
    with pytest.raises(CheckpointError, match=r"c\.ckpt: cannot write checkpoint"):
        save_checkpoint(path, {"x": np.zeros(1000)}, {"iteration": 1})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["c.ckpt"]
    load_checkpoint(path)
