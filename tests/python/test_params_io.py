"""Parameter files (.protobuf, .h5): nnvae.params_io.

The .protobuf files are checked against an independent reader: the `protobuf`
package (a test-only dependency) with the NNabla message types built at run
time from a FileDescriptorProto.
"""
from __future__ import annotations

import os
import sys
from collections import OrderedDict

import numpy as np
import pytest

from nnvae import params_io
from nnvae.params_io import ParameterFileError, load_parameter_records, load_parameters, save_parameters
from nnvae.app.checkpoint_file import CheckpointError, load_checkpoint, save_checkpoint
from nnvae.app.training import VaeModel, parameter_shapes

# The tutorial's VAE's parameters in creation order.
VAE_SHAPES = parameter_shapes(50, 500)


def vae_params(seed=0):
    rng = np.random.default_rng(seed)
    return OrderedDict((n, (rng.standard_normal(s) * 0.05).astype(np.float32))
                       for n, s in VAE_SHAPES.items())


def small_params():
    return OrderedDict([
        ("enc/affine/W", np.arange(6, dtype=np.float32).reshape(2, 3) / 7),
        ("enc/affine/b", np.array([-1.5, 0.0, 3.25], dtype=np.float32)),
        ("scalar", np.array(2.5, dtype=np.float32)),
    ])


# --------------------------------------------------------------------------
# The independent reader: NNabla's messages built from a descriptor

@pytest.fixture(scope="module")
def nnabla_pb():
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    fdp = descriptor_pb2.FileDescriptorProto(name="nnabla_test.proto", package="nnabla",
                                             syntax="proto3")
    F = descriptor_pb2.FieldDescriptorProto
    shape = fdp.message_type.add(name="Shape")
    shape.field.add(name="dim", number=1, type=F.TYPE_INT64, label=F.LABEL_REPEATED)
    param = fdp.message_type.add(name="Parameter")
    param.field.add(name="variable_name", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    param.field.add(name="shape", number=20, type=F.TYPE_MESSAGE, label=F.LABEL_OPTIONAL,
                    type_name=".nnabla.Shape")
    param.field.add(name="data", number=100, type=F.TYPE_FLOAT, label=F.LABEL_REPEATED)
    param.field.add(name="need_grad", number=101, type=F.TYPE_BOOL, label=F.LABEL_OPTIONAL)
    top = fdp.message_type.add(name="NNablaProtoBuf")
    top.field.add(name="parameter", number=200, type=F.TYPE_MESSAGE, label=F.LABEL_REPEATED,
                  type_name=".nnabla.Parameter")
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nnabla.NNablaProtoBuf"))


def test_protobuf_decodes_with_protobuf_package(tmp_path, nnabla_pb):
    params = vae_params()
    frozen = {"fc_mu/affine/b", "fc5/affine/W"}
    path = tmp_path / "vae.protobuf"
    save_parameters(path, params, need_grad={n: False for n in frozen})

    msg = nnabla_pb()
    msg.ParseFromString(path.read_bytes())
    assert [p.variable_name for p in msg.parameter] == list(VAE_SHAPES)
    for p in msg.parameter:
        assert tuple(p.shape.dim) == VAE_SHAPES[p.variable_name]
        data = np.array(p.data, dtype=np.float32).reshape(tuple(p.shape.dim))
        np.testing.assert_array_equal(data, params[p.variable_name])
        assert p.need_grad == (p.variable_name not in frozen)
    assert sum(len(p.data) for p in msg.parameter) == 1_361_884
    # Byte for byte what the package itself would write (canonical encoding).
    assert msg.SerializeToString() == path.read_bytes()


def test_protobuf_written_by_package_loads(tmp_path, nnabla_pb):
    params = small_params()
    msg = nnabla_pb()
    for i, (name, arr) in enumerate(params.items()):
        p = msg.parameter.add(variable_name=name, need_grad=(i != 1))
        p.shape.dim.extend(arr.shape)
        p.data.extend(arr.ravel().tolist())
    path = tmp_path / "from_package.protobuf"
    path.write_bytes(msg.SerializeToString())

    loaded = load_parameters(path)
    assert list(loaded) == list(params)
    for name, arr in params.items():
        assert loaded[name].dtype == np.float32 and loaded[name].shape == arr.shape
        np.testing.assert_array_equal(loaded[name], arr)
    assert [r.need_grad for r in load_parameter_records(path)] == [True, False, True]


def _varint(v):
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _field(num, wt, payload):
    body = _varint(len(payload)) + payload if wt == 2 else payload
    return _varint(num << 3 | wt) + body


def test_protobuf_reader_accepts_unpacked_split_and_unknown_fields(tmp_path, nnabla_pb):
    # Shape dims as unpacked varints, data as single 32-bit records and a split
    # packed run, unknown fields of every wire type (and a group) everywhere.
    unknown = (_field(7, 0, _varint(300)) + _field(8, 1, b"\x00" * 8) + _field(9, 2, b"xyz")
               + _field(10, 5, b"\x01\x02\x03\x04")
               + _varint(11 << 3 | 3) + _field(1, 0, b"\x05") + _varint(11 << 3 | 4))
    shape = _field(1, 0, _varint(2)) + unknown + _field(1, 0, _varint(2))
    values = np.array([1.0, -2.0, 0.5, 8.0], dtype="<f4")
    param = (unknown + _field(1, 2, b"w") + _field(20, 2, shape)
             + _field(100, 5, values[:1].tobytes()) + _field(100, 2, values[1:3].tobytes())
             + _field(100, 5, values[3:].tobytes()) + _field(101, 0, b"\x01"))
    path = tmp_path / "odd.protobuf"
    path.write_bytes(unknown + _field(200, 2, param) + unknown)

    # The independent reader agrees on what the bytes mean.
    msg = nnabla_pb()
    msg.ParseFromString(path.read_bytes())
    assert list(msg.parameter[0].data) == values.tolist()

    (rec,) = load_parameter_records(path)
    assert rec.name == "w" and rec.need_grad is True
    np.testing.assert_array_equal(rec.data, values.reshape(2, 2))


def test_vae_round_trip_protobuf(tmp_path):
    params = vae_params(1)
    path = tmp_path / "p.protobuf"
    save_parameters(path, params)
    loaded = load_parameters(path)
    assert list(loaded) == list(params)
    for name in params:
        assert loaded[name].dtype == np.float32
        np.testing.assert_array_equal(loaded[name], params[name])
    assert VaeModel(loaded).latent == 50  # fits the model: no exception
    assert all(r.need_grad for r in load_parameter_records(path))


def test_save_casts_to_float32_and_keeps_scalars(tmp_path):
    path = tmp_path / "p.protobuf"
    save_parameters(path, {"a": np.array([[1.25, 2.0]]), "s": np.float64(3.0), "e": np.zeros((0, 4))},
                    need_grad=False)
    recs = load_parameter_records(path)
    assert [(r.name, r.data.shape, r.need_grad) for r in recs] == [
        ("a", (1, 2), False), ("s", (), False), ("e", (0, 4), False)]
    np.testing.assert_array_equal(recs[0].data, np.array([[1.25, 2.0]], np.float32))
    assert recs[1].data.dtype == np.float32 and float(recs[1].data) == 3.0


def test_vae_round_trip_h5_with_attributes(tmp_path):
    h5py = pytest.importorskip("h5py")
    params = vae_params(2)
    path = tmp_path / "p.h5"
    save_parameters(path, params, need_grad={"fc1/affine/b": False})
    with h5py.File(path, "r") as f:
        ds = f["fc1/affine/W"]
        assert ds.dtype == np.float32 and ds.shape == (784, 500)
        np.testing.assert_array_equal(ds[()], params["fc1/affine/W"])
        for i, name in enumerate(VAE_SHAPES):
            attrs = f[name].attrs
            assert np.asarray(attrs["index"]).dtype.kind in "iu" and int(attrs["index"]) == i
            assert int(attrs["need_grad"]) == (0 if name == "fc1/affine/b" else 1)
    loaded = load_parameters(path)
    assert list(loaded) == list(VAE_SHAPES)  # creation order, not HDF5's alphabetical order
    for name in params:
        np.testing.assert_array_equal(loaded[name], params[name])
    need = {r.name: r.need_grad for r in load_parameter_records(path)}
    assert need["fc1/affine/b"] is False and need["fc1/affine/W"] is True


def test_h5_written_by_h5py_in_nnabla_layout_loads(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "nn.h5"
    with h5py.File(path, "w") as f:  # written out of creation order on purpose
        f["z/affine/b"] = np.array([1, 2], np.float32)
        f["z/affine/b"].attrs["index"] = 1
        f["z/affine/b"].attrs["need_grad"] = 0
        f["a/affine/W"] = np.ones((2, 2), np.float64)
        f["a/affine/W"].attrs["index"] = 0
        f["a/affine/W"].attrs["need_grad"] = 1
    recs = load_parameter_records(path)
    assert [(r.name, r.data.dtype, r.need_grad) for r in recs] == [
        ("a/affine/W", np.float32, True), ("z/affine/b", np.float32, False)]


def test_h5_without_h5py_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # makes `import h5py` fail
    with pytest.raises(ParameterFileError, match=r"p\.h5.*pip install h5py"):
        save_parameters(tmp_path / "p.h5", small_params())
    assert not (tmp_path / "p.h5").exists()


def test_unknown_suffix(tmp_path):
    with pytest.raises(ParameterFileError, match=r"p\.npz.*\.protobuf.*\.h5"):
        save_parameters(tmp_path / "p.npz", small_params())
    with pytest.raises(ParameterFileError, match="p.txt"):
        load_parameters(tmp_path / "p.txt")


@pytest.mark.parametrize("bad, message", [
    ({}, "no parameters"),
    ({"": np.zeros(2)}, "not a non-empty string"),
    ({"a": np.array(["x"])}, "dtype"),
])
def test_save_rejects_bad_parameters(tmp_path, bad, message):
    with pytest.raises(ParameterFileError, match=message):
        save_parameters(tmp_path / "p.protobuf", bad)
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------
# Corrupt parameter files

def _small_file(tmp_path):
    path = tmp_path / "small.protobuf"
    save_parameters(path, small_params())
    return path, path.read_bytes()


def test_protobuf_every_truncation_is_an_error_or_a_prefix(tmp_path):
    path, data = _small_file(tmp_path)
    names = list(small_params())
    cut = tmp_path / "cut.protobuf"
    errors = 0
    for n in range(len(data)):
        cut.write_bytes(data[:n])
        try:
            loaded = load_parameters(cut)
        except ParameterFileError as e:
            assert "cut.protobuf" in str(e) and e.path == str(cut)
            errors += 1
        else:  # cut exactly between two parameters: a well-formed shorter file
            assert list(loaded) == names[:len(loaded)] and 0 < len(loaded) < len(names)
    assert errors >= len(data) - 2


def test_protobuf_garbage_and_bit_flips_never_crash(tmp_path):
    path, data = _small_file(tmp_path)
    bad = tmp_path / "bad.protobuf"
    rng = np.random.default_rng(5)
    for i in range(20):  # random garbage
        bad.write_bytes(rng.integers(0, 256, int(rng.integers(1, 200)), dtype=np.uint8).tobytes())
        with pytest.raises(ParameterFileError, match="bad.protobuf"):
            load_parameters(bad)
    # One flipped bit anywhere: an error or some valid decoding, never another
    # exception (decoded in memory: writing a file each time is slow).
    for pos in range(len(data)):
        for bit in (0, 3, 7):
            flipped = bytearray(data)
            flipped[pos] ^= 1 << bit
            try:
                params_io._decode_protobuf(bad, bytes(flipped))
            except ParameterFileError as e:
                assert "bad.protobuf" in str(e)


@pytest.mark.parametrize("content, message", [
    (b"", "no parameters"),
    (_field(200, 2, _field(1, 2, b"w") + _field(20, 2, _field(1, 2, b"\x02\x03"))
               + _field(100, 2, b"\x00" * 20)), r"parameter w has 5 values but its shape \(2, 3\) needs 6"),
    (_field(200, 2, _field(1, 2, b"w") + _field(100, 2, b"\x00" * 6)), "not a multiple of 4"),
    (_field(200, 2, _field(1, 0, b"\x01")), r"variable_name at byte offset 3 has wire type 0"),
    (_field(200, 2, _field(100, 5, b"\x00" * 4)), "has no name"),
    (_field(200, 2, _field(1, 2, b"\xff\xfe") + _field(100, 5, b"\0" * 4)), "not valid UTF-8"),
    (_field(200, 2, _field(1, 2, b"w") + _field(20, 2, _field(1, 0, b"\xff" * 9 + b"\x01"))),
     "negative dimension"),
    (b"\x80" * 11, "varint longer than 10 bytes at byte offset 0"),
    (_varint(200 << 3 | 2) + _varint(1000) + b"abc", r"needs 1000 bytes but only 3 remain"),
    (b"\x0f", "invalid wire type 7"),
    (_field(200, 2, _field(1, 2, b"w") + _field(100, 5, b"\0" * 4)) * 2, "w appears twice"),
    # A damaged name that is not UTF-8 is written escaped in the message.
    (_field(200, 2, _field(1, 2, b"w\xf0") + _field(20, 2, _field(1, 2, b"\x02"))),
     r"parameter w\\xf0 has 0 values but its shape \(2,\) needs 2"),
])
def test_protobuf_specific_errors(tmp_path, content, message):
    path = tmp_path / "x.protobuf"
    path.write_bytes(content)
    with pytest.raises(ParameterFileError, match=message) as info:
        load_parameters(path)
    assert str(info.value).startswith(str(path))


def test_missing_and_folder_paths(tmp_path):
    with pytest.raises(ParameterFileError, match=r"nope\.protobuf: no such file"):
        load_parameters(tmp_path / "nope.protobuf")
    (tmp_path / "dir.protobuf").mkdir()
    with pytest.raises(ParameterFileError, match="is a folder"):
        load_parameters(tmp_path / "dir.protobuf")
    with pytest.raises(CheckpointError, match=r"nope\.ckpt: no such file"):
        load_checkpoint(tmp_path / "nope.ckpt")


def test_h5_corrupt_truncated_and_wrong_content(tmp_path):
    h5py = pytest.importorskip("h5py")
    good = tmp_path / "good.h5"
    save_parameters(good, small_params())
    data = good.read_bytes()
    for name, content in [("garbage.h5", b"definitely not HDF5" * 10),
                          ("half.h5", data[:len(data) // 2]),
                          ("head.h5", data[:600]),
                          ("empty.h5", b"")]:
        p = tmp_path / name
        p.write_bytes(content)
        with pytest.raises(ParameterFileError, match=name.replace(".", r"\.")):
            load_parameters(p)
    strings = tmp_path / "strings.h5"
    with h5py.File(strings, "w") as f:
        f["w"] = np.array([b"a", b"b"])
    with pytest.raises(ParameterFileError, match=r"strings\.h5: dataset w has dtype"):
        load_parameters(strings)
    nothing = tmp_path / "nothing.h5"
    with h5py.File(nothing, "w") as f:
        f.create_group("g")
    with pytest.raises(ParameterFileError, match=r"nothing\.h5: the file holds no parameters"):
        load_parameters(nothing)


def test_h5_name_that_is_also_a_group(tmp_path):
    pytest.importorskip("h5py")
    with pytest.raises(ParameterFileError, match="'fc1' is also a group"):
        save_parameters(tmp_path / "p.h5", {"fc1": np.zeros(1), "fc1/affine/W": np.zeros(1)})
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------
# Failed writes leave no partial file

def test_write_into_missing_folder(tmp_path):
    with pytest.raises(ParameterFileError, match=r"nowhere/p\.protobuf: cannot write"):
        save_parameters(tmp_path / "nowhere" / "p.protobuf", small_params())
    with pytest.raises(CheckpointError, match=r"nowhere/c\.ckpt: cannot write"):
        save_checkpoint(tmp_path / "nowhere" / "c.ckpt", {}, {})
    (tmp_path / "a_file").write_bytes(b"")  # a file where a folder should be
    with pytest.raises(ParameterFileError, match=r"a_file/p\.protobuf: cannot write"):
        save_parameters(tmp_path / "a_file" / "p.protobuf", small_params())
    assert os.listdir(tmp_path) == ["a_file"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root ignores folder permissions")
def test_write_into_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ParameterFileError, match="cannot write"):
            save_parameters(folder / "p.protobuf", small_params())
    finally:
        folder.chmod(0o700)
    assert os.listdir(folder) == []


def test_exception_mid_write_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "p.protobuf"
    save_parameters(path, small_params())
    before = path.read_bytes()

    real = params_io._write_protobuf

    def half_then_fail(f, items, flags):
        real(f, items[:1], flags[:1])  # some bytes reach the temporary file
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(params_io, "_write_protobuf", half_then_fail)
    with pytest.raises(ParameterFileError, match=r"p\.protobuf: cannot write parameters: disk full"):
        save_parameters(path, vae_params())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["p.protobuf"]

    class Interrupted(BaseException):  # e.g. KeyboardInterrupt: not wrapped, still cleaned
        pass

    def interrupted(f, items, flags):
        f.write(b"\x00" * 100)
        raise Interrupted()

    monkeypatch.setattr(params_io, "_write_protobuf", interrupted)
    with pytest.raises(Interrupted):
        save_parameters(tmp_path / "new.protobuf", small_params())
    assert os.listdir(tmp_path) == ["p.protobuf"]


def test_h5_exception_mid_write_leaves_no_file(tmp_path, monkeypatch):
    pytest.importorskip("h5py")
    real = params_io._write_h5

    def fail(h5py, tmp, items, flags):
        real(h5py, tmp, items, flags)
        raise RuntimeError("simulated failure after writing")

    monkeypatch.setattr(params_io, "_write_h5", fail)
    with pytest.raises(ParameterFileError, match=r"p\.h5: cannot write parameters: simulated"):
        save_parameters(tmp_path / "p.h5", small_params())
    assert os.listdir(tmp_path) == []
