"""nnvae.app.training: the run folder and its files, learning on MNIST (or
synthetic digits), exact resume, the parameter files read by independent
readers, the pictures, and the stop on a non-finite loss."""
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from nnvae.app import training
from nnvae.errors import NnvaeError
from nnvae.app.checkpoint_file import load_checkpoint
from nnvae.params_io import load_parameters

from vae_fixtures import NO_REAL_MNIST, REAL_MNIST, synthetic_digits


def small(**kw) -> training.TrainOptions:
    base = dict(iterations=40, batch_size=20, latent=8, hidden=64, threads=1, progress=False,
                checkpoint_every=1000)
    base.update(kw)
    return training.TrainOptions.of(**base)


@pytest.fixture(scope="module")
def images():
    return synthetic_digits(600, 1), synthetic_digits(100, 2)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, images):
    """One finished 40-iteration run of the small model."""
    out = tmp_path_factory.mktemp("run")
    metrics = training.run_training(small(out=str(out)), out=open(out / "stdout.txt", "w"),
                                    train_images=images[0], test_images=images[1])
    return out, metrics


def test_run_folder_files(finished_run):
    out, metrics = finished_run
    printed = (out / "stdout.txt").read_text().splitlines()
    assert printed[0] == f"run folder: {out}"
    lines = [l for l in printed if l.startswith("iter: ")]
    assert [l.split(",")[0] for l in lines] == ["iter: 9", "iter: 19", "iter: 29", "iter: 39"]
    log = (out / "log.txt").read_text().splitlines()
    assert [l for l in log if l.startswith("iter: ")] == lines
    rows = (out / "losses.csv").read_text().splitlines()
    assert rows[0] == "iteration,train_loss,val_loss" and len(rows) == 5
    it, tl, vl = rows[-1].split(",")
    assert lines[-1] == f"iter: {it}, tloss: {tl}, vloss: {vl}"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["iterations"] == 40 and saved["test_images"] == 100
    assert saved["test_negative_elbo"] == pytest.approx(metrics["test_negative_elbo"])
    # The digits are learnt a little in 40 steps: below 784·ln 2 = 543 nats.
    assert 100 < saved["test_negative_elbo"] < 530
    assert printed[-2].startswith(f"test negative ELBO: {saved['test_negative_elbo']:.4f}")


def _parameter_proto_classes():
    """NNablaProtoBuf message classes built from a descriptor of NNabla's
    parameter message, with the protobuf package: an independent reader of
    the file."""
    pytest.importorskip("google.protobuf")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="nnabla_params_test.proto", package="nnvtest", syntax="proto3")

    def message(name, fields):
        m = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name

    message("Shape", [("dim", 1, F.TYPE_INT64, F.LABEL_REPEATED, None)])
    message("Parameter", [("variable_name", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
                          ("shape", 20, F.TYPE_MESSAGE, F.LABEL_OPTIONAL, ".nnvtest.Shape"),
                          ("data", 100, F.TYPE_FLOAT, F.LABEL_REPEATED, None),
                          ("need_grad", 101, F.TYPE_BOOL, F.LABEL_OPTIONAL, None)])
    message("NNablaProtoBuf", [("parameter", 200, F.TYPE_MESSAGE, F.LABEL_REPEATED, ".nnvtest.Parameter")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("nnvtest.NNablaProtoBuf"))


def test_protobuf_decodes_with_the_protobuf_package(finished_run):
    out, _ = finished_run
    msg = _parameter_proto_classes()()
    msg.ParseFromString((out / "parameters.protobuf").read_bytes())
    expected = training.parameter_shapes(8, 64)
    assert [p.variable_name for p in msg.parameter] == list(expected)
    arrays, _ = load_checkpoint(out / "checkpoint.nnvckpt")
    for p in msg.parameter:
        assert tuple(p.shape.dim) == expected[p.variable_name]
        assert p.need_grad
        values = np.array(p.data, dtype=np.float32).reshape(tuple(p.shape.dim))
        np.testing.assert_array_equal(values, arrays["param/" + p.variable_name])
    # ...and loads back with nnvae's own reader, in order.
    back = load_parameters(out / "parameters.protobuf")
    assert list(back) == list(expected)
    np.testing.assert_array_equal(back["fc5/affine/W"], arrays["param/fc5/affine/W"])


def test_h5_round_trip(finished_run):
    h5py = pytest.importorskip("h5py")
    out, _ = finished_run
    arrays, _ = load_checkpoint(out / "checkpoint.nnvckpt")
    with h5py.File(out / "parameters.h5", "r") as f:
        w = f["fc_mu/affine/W"]
        assert w.dtype == np.float32 and w.shape == (64, 8)
        assert int(w.attrs["index"]) == 4 and int(w.attrs["need_grad"]) == 1
        np.testing.assert_array_equal(w[()], arrays["param/fc_mu/affine/W"])
    back = load_parameters(out / "parameters.h5")
    assert list(back) == list(training.parameter_shapes(8, 64))


def test_pictures_decode_with_pillow(finished_run):
    out, _ = finished_run
    sizes = {}
    for name in ("samples.png", "reconstructions.png", "loss.png"):
        with Image.open(out / name) as im:
            im.load()
            sizes[name] = im.size
    # 8x8 grid of 28x28 at scale 2 with 1-pixel separators; 16 pairs (913 x 115)
    # after a margin naming the two rows; each under a band with its title;
    # the plot.
    margin = sizes["reconstructions.png"][0] - 913  # as wide as the font makes "reconstruction"
    assert 60 < margin < 200
    band = sizes["samples.png"][1] - 457, sizes["reconstructions.png"][1] - 115
    assert 15 < band[0] < 60 and 15 < band[1] < 60
    assert sizes == {"samples.png": (457, 457 + band[0]), "reconstructions.png": (913 + margin, 115 + band[1]),
                     "loss.png": (640, 400)}


def _run(tmp_path, images, folder, iterations, resume=None):
    """A small run of `iterations` into tmp_path/folder (resumed from the
    checkpoint `resume` if given, with that checkpoint's model and batch)."""
    out = tmp_path / folder
    extra = {} if resume is None else dict(resume=str(resume), latent=None, hidden=None, batch_size=None)
    training.run_training(small(iterations=iterations, out=str(out), pictures=False, **extra),
                          out=open(tmp_path / f"{folder}.txt", "w"), train_images=images[0], test_images=images[1])
    return out


def test_resume_equals_uninterrupted(tmp_path, images):
    # One thread: 45 steps straight against 23 (mid-interval, mid-epoch: 30
    # batches per epoch) then a resume to 45, in another folder.
    straight = _run(tmp_path, images, "a", 45)
    first = _run(tmp_path, images, "b", 23)
    second = _run(tmp_path, images, "c", 45, resume=first / "checkpoint.nnvckpt")
    a = (straight / "parameters.protobuf").read_bytes()
    assert a == (second / "parameters.protobuf").read_bytes()
    assert (straight / "losses.csv").read_text() == (second / "losses.csv").read_text()
    ma = json.loads((straight / "metrics.json").read_text())
    mc = json.loads((second / "metrics.json").read_text())
    assert ma["test_negative_elbo"] == mc["test_negative_elbo"]
    # The checkpoint holds the Adam step count of every parameter.
    _, meta = load_checkpoint(second / "checkpoint.nnvckpt")
    assert set(meta["adam_t"].values()) == {45} and meta["state"]["iteration"] == 45


def test_a_version_1_checkpoint_resumes_exactly(tmp_path, images):
    # Version 1 stored Adam's moments under the engine's former names, m and
    # v; version 2 under NNabla's, mean and var. An old checkpoint resumes to
    # the same parameters as an uninterrupted run.
    from nnvae.app.checkpoint_file import save_checkpoint

    straight = _run(tmp_path, images, "a", 30)
    first = _run(tmp_path, images, "b", 17)
    arrays, meta = load_checkpoint(first / "checkpoint.nnvckpt")
    assert meta["version"] == 2
    assert {k.rsplit("/", 1)[1] for k in arrays if k.startswith("adam/")} == {"mean", "var"}
    old_names = {"mean": "m", "var": "v"}
    v1 = {(k.rsplit("/", 1)[0] + "/" + old_names[k.rsplit("/", 1)[1]] if k.startswith("adam/") else k): a
          for k, a in arrays.items()}
    save_checkpoint(tmp_path / "v1.nnvckpt", v1, dict(meta, version=1))
    second = _run(tmp_path, images, "c", 30, resume=tmp_path / "v1.nnvckpt")
    assert (straight / "parameters.protobuf").read_bytes() == (second / "parameters.protobuf").read_bytes()


def test_a_version_1_checkpoint_with_both_names_of_a_moment_is_refused(tmp_path, images):
    from nnvae.app.checkpoint_file import save_checkpoint
    from nnvae.app.training.checkpoint import load_training_checkpoint

    first = _run(tmp_path, images, "b", 5)
    arrays, meta = load_checkpoint(first / "checkpoint.nnvckpt")
    arrays["adam/fc1/affine/W/m"] = arrays["adam/fc1/affine/W/mean"]
    save_checkpoint(tmp_path / "both.nnvckpt", arrays, dict(meta, version=1))
    with pytest.raises(NnvaeError, match=r"both.nnvckpt: checkpoint field adam/fc1/affine/W/m and "
                                         r"adam/fc1/affine/W/mean are both present"):
        load_training_checkpoint(tmp_path / "both.nnvckpt")


def test_nonfinite_loss_keeps_the_last_good_checkpoint(tmp_path, images):
    # lr 1e30: step 0 is finite but throws the weights to ±1e30, step 1's loss
    # is not. The checkpoint written after step 0 stays.
    opts = small(iterations=40, learning_rate=1e30, checkpoint_every=1, out=str(tmp_path))
    with pytest.raises(NnvaeError, match=r"became (nan|inf) at iteration 1; stopped \(the last good checkpoint, "
                                         r"at iteration 1, is .*checkpoint.nnvckpt\)"):
        training.run_training(opts, out=open(tmp_path / "out.txt", "w"), train_images=images[0],
                              test_images=images[1])
    _, meta = load_checkpoint(tmp_path / "checkpoint.nnvckpt")
    assert meta["state"]["iteration"] == 1
    assert not (tmp_path / "parameters.protobuf").exists()


@pytest.mark.skipif(REAL_MNIST is None, reason=NO_REAL_MNIST)
def test_loss_falls_on_mnist(tmp_path):
    # The tutorial's model and recipe with the fan-in init, 400 steps
    # on the real data (2 threads): from about 545 nats to below 185 (the
    # measured run: 165 at step 400, after a plateau near 200 at steps 100-200).
    from nnvae.app.datasets import load_mnist

    train, _ = load_mnist("train", REAL_MNIST, download=False)
    test, _ = load_mnist("test", REAL_MNIST, download=False)
    m = training.run_training(training.TrainOptions.of(iterations=400, threads=2, init="fan-in", out=str(tmp_path),
                                                       progress=False, pictures=False),
                              out=open(tmp_path / "out.txt", "w"), train_images=train, test_images=test[:2000])
    assert m["final_train_loss"] < 185 and m["final_val_loss"] < 185
    assert m["test_negative_elbo"] < 185


def test_vae_model(finished_run, images):
    out, _ = finished_run
    model = training.load_model(out / "parameters.protobuf")
    assert (model.latent, model.hidden) == (8, 64) and model.source == str(out / "parameters.protobuf")
    assert list(model.parameters()) == list(training.parameter_shapes(8, 64))
    test = images[1][:30]
    e = model.negative_elbo(test, batch_size=7)
    assert e == model.negative_elbo(test, batch_size=7)  # fixed seed
    k1 = model.importance_weighted_nll(test, 1)
    k20 = model.importance_weighted_nll(test, 20)
    assert k1 == pytest.approx(e, rel=0.05) and k20 < k1
    mu, logvar = model.encode(test)
    assert mu.shape == logvar.shape == (30, 8) and mu.dtype == np.float32
    probs = model.decode(mu)
    assert probs.shape == (30, 28, 28) and 0 <= probs.min() and probs.max() <= 1
    with pytest.raises(ValueError, match=r"z: expected \(N, 8\), got \(30, 7\)"):
        model.decode(mu[:, :7])


def test_vae_model_lists_every_difference(finished_run):
    out, _ = finished_run
    params = load_parameters(out / "parameters.protobuf")
    params["fc1/affine/b"] = np.zeros(63, np.float32)
    del params["fc_logvar/affine/W"]
    params["extra/affine/W"] = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError) as e:
        training.VaeModel(params, "run/params.protobuf")
    text = str(e.value)
    assert text.startswith("run/params.protobuf: the parameters do not fit the VAE (latent 8, hidden 64): ")
    assert "fc1/affine/b is (63,), expected (64,)" in text
    assert "fc_logvar/affine/W missing (expected (64, 8))" in text
    assert "unexpected extra/affine/W (3, 4)" in text


def test_same_seed_same_monitor_lines(tmp_path, images):
    outs = []
    for name in ("x", "y"):
        training.run_training(small(iterations=20, out=str(tmp_path / name), pictures=False),
                              out=open(tmp_path / f"{name}.txt", "w"), train_images=images[0],
                              test_images=images[1])
        outs.append([l for l in (tmp_path / name / "log.txt").read_text().splitlines() if l.startswith("iter")])
    assert outs[0] == outs[1] and len(outs[0]) == 2


def test_progress_bar(tmp_path, images):
    import io

    err = io.StringIO()
    training.run_training(small(iterations=20, out=str(tmp_path), pictures=False, progress=True),
                          out=open(tmp_path / "out.txt", "w"), err=err, train_images=images[0],
                          test_images=images[1])
    text = err.getvalue()
    # Redrawn in place: iteration, speed, time left and the latest losses.
    assert "\r[" in text and "20/20" in text and " it/s " in text and " left" in text
    assert "tloss " in text and "vloss " in text


@pytest.mark.parametrize("name, value", [("eps", float("inf")), ("learning_rate", float("nan")),
                                         ("beta2", float("-inf"))])
def test_python_floats_are_checked_as_the_options_are(tmp_path, images, name, value):
    # A float given through the API meets the option's own parsing (VaeConfig's).
    from nnvae.errors import UsageError

    flag = name.replace("_", "-")
    with pytest.raises(UsageError, match=f"^--{flag}: expected a finite decimal number .*, got '{value}'$"):
        training.run_training(small(out=str(tmp_path / "run"), **{name: value}), out=open(tmp_path / "o.txt", "w"),
                              train_images=images[0], test_images=images[1])
    assert not (tmp_path / "run").exists()


KNOWN_ARRAYS = {"state/order", "history/iteration", "history/train_loss", "history/val_loss"}


@settings(max_examples=60, deadline=None)
@given(where=st.sampled_from(["array", "meta", "state", "settings", "adam_t", "adam_key", "adam_param"]),
       prefix=st.sampled_from(["", "history/", "state/", "params/", "x/"]),
       name=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_/0123456789", min_size=1, max_size=12))
def test_a_checkpoint_entry_this_nnvae_does_not_know_is_refused(finished_run, images, tmp_path_factory, where,
                                                                  prefix, name):
    # One entry added anywhere in a good checkpoint (an array, a meta, state,
    # settings or adam_t key, a solver state of a parameter, Adam's state of
    # no parameter): resuming it is refused, naming the entry.
    from hypothesis import assume

    from nnvae.app.checkpoint_file import save_checkpoint
    from nnvae.app.training.loop import start_trainer
    from nnvae.app.training.prepare import run_settings

    out, _ = finished_run
    arrays, meta = load_checkpoint(out / "checkpoint.nnvckpt")
    meta = json.loads(json.dumps(meta))
    first = next(iter(meta["adam_t"]))
    extra = np.zeros(3, np.float32)
    if where == "array":
        field = prefix + name
        assume(field not in KNOWN_ARRAYS and not field.startswith(("param/", "adam/")))
        arrays[field] = extra
    elif where == "adam_key":
        field = f"adam/{first}/{name}"
        assume(name not in ("mean", "var"))
        arrays[field] = extra
    elif where == "adam_param":
        field = f"adam/{prefix}{name}/mean"
        assume(not any(field.startswith(f"adam/{p}/") for p in meta["adam_t"]))
        arrays[field] = extra
    else:
        table = {"meta": meta, "state": meta["state"], "settings": meta["settings"], "adam_t": meta["adam_t"]}[where]
        assume(name not in table and not (where == "state" and name == "order"))
        table[name] = 1
        field = name if where == "meta" else f"{where}.{name}"
    path = tmp_path_factory.mktemp("unknown") / "checkpoint.nnvckpt"
    save_checkpoint(path, arrays, meta)
    with pytest.raises(NnvaeError) as e:
        saved = training.load_training_checkpoint(path)
        cfg, _ = run_settings(training.TrainOptions(resume=str(path)), saved)
        start_trainer(cfg, images[0], images[1], saved, path)
    assert f"{path}: checkpoint field {field} " in str(e.value)
