"""Every command under hostile input: each option of each command with bad
values, and damaged, huge or strange files where a file is expected. Every
case must end with exit code 2 (usage) or 1 (runtime), one error line on
stderr (after argparse's usage lines), no traceback, and no file left behind.

The cases run in one child process (a crash there fails the test instead of
pytest), each by calling the command's entry point in a fresh, empty working
folder."""
import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from nnvae import _core
from nnvae.app.checkpoint_file import load_checkpoint, save_checkpoint
from nnvae.params_io import save_parameters
from nnvae.app.training import parameter_shapes

from test_params_io import _field, _varint  # protobuf's wire encoding, for crafted files
from vae_fixtures import SMALL, data_root, run_cli

# Runs each case in-process and reports {code, stderr, stdout, left, escaped}.
DRIVER = textwrap.dedent("""
    import contextlib, io, json, os, sys, tempfile, time
    from nnvae.app import cli
    cases = json.load(open(sys.argv[1]))
    results = []
    for case in cases:
        work = tempfile.mkdtemp(prefix="case-", dir=sys.argv[3])
        os.chdir(work)
        out, err = io.StringIO(), io.StringIO()
        code, escaped, t0 = None, None, time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                entry = cli.train_main if case["entry"] == "nnvae-train" else cli.main
                code = entry(case["argv"])
            except SystemExit as e:
                code = e.code
            except BaseException as e:  # what would have been a traceback
                escaped = f"{type(e).__name__}: {e}"
        left = sorted(os.path.relpath(os.path.join(d, f), work) for d, dirs, fs in os.walk(work) for f in fs + dirs)
        results.append({"code": code, "stderr": err.getvalue(), "stdout": out.getvalue(), "left": left,
                        "escaped": escaped, "seconds": round(time.monotonic() - t0, 2)})
    json.dump(results, open(sys.argv[2], "w"))
""")


def run_cases(cases, tmp_path):
    """[(entry, argv)] -> one result dict per case (see DRIVER)."""
    (tmp_path / "cases.json").write_text(json.dumps([{"entry": e, "argv": a} for e, a in cases]))
    (tmp_path / "work").mkdir(exist_ok=True)
    import nnvae

    env = dict(os.environ, PYTHONPATH=str(Path(nnvae.__file__).parents[1]))
    r = subprocess.run([sys.executable, "-c", DRIVER, tmp_path / "cases.json", tmp_path / "results.json",
                        tmp_path / "work"], capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, f"the driver died (exit {r.returncode}): {r.stderr[-2000:]}"
    return json.loads((tmp_path / "results.json").read_text())


def error_lines(stderr: str):
    """stderr without argparse's usage lines (`usage: ...` and its
    indented continuation lines) and without a fetch's report of each
    attempt (`mnist: SOURCE failed: REASON`)."""
    lines = [l for l in stderr.splitlines() if not re.match(r"(mnist|fashion-mnist): \S.* failed: ", l)]
    if lines and lines[0].startswith("usage:"):
        lines = lines[1:]
        while lines and lines[0].startswith(" "):
            lines = lines[1:]
    return lines


def check_refused(case, result):
    where = f"{case}: {result}"
    assert result["escaped"] is None, where
    assert result["code"] in (1, 2), where
    lines = error_lines(result["stderr"])
    assert len(lines) == 1 and "error" in lines[0], where
    assert "Traceback" not in result["stderr"] + result["stdout"], where
    assert result["left"] == [], where


# --------------------------------------------------------------------------
# Hostile files

def _parameter(name: bytes, dims, extra: bytes = b"") -> bytes:
    dims_bytes = b"".join(_varint(d) for d in dims)
    return _field(200, 2, _field(1, 2, name) + _field(20, 2, _field(1, 2, dims_bytes)) + extra)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data_root(tmp_path_factory)


@pytest.fixture(scope="module")
def files(tmp_path_factory, root):
    """name -> path of each hostile file, plus the good ones ("params",
    "checkpoint") they are made from."""
    d = tmp_path_factory.mktemp("hostile")
    f = {}
    rng = np.random.default_rng(0)
    params = {n: rng.standard_normal(s).astype(np.float32) * 0.01 for n, s in parameter_shapes(8, 64).items()}
    f["params"] = d / "good.protobuf"
    save_parameters(f["params"], params)
    run = d / "run"
    r = run_cli("train", "--data-dir", root, *SMALL, "--iterations", 20, "--out", run, "--no-pictures")
    assert r.returncode == 0, r.stderr
    f["checkpoint"] = run / "checkpoint.nnvckpt"

    for suffix in (".protobuf", ".h5", ".nnvckpt"):
        f["fifo" + suffix] = d / ("fifo" + suffix)
        os.mkfifo(f["fifo" + suffix])
        f["sparse" + suffix] = d / ("sparse" + suffix)  # 30 GB that take no disk
        with open(f["sparse" + suffix], "wb") as h:
            h.truncate(30 << 30)
        f["zero" + suffix] = d / ("zero" + suffix)
        os.symlink("/dev/zero", f["zero" + suffix])
        f["folder" + suffix] = d / ("folder" + suffix)
        f["folder" + suffix].mkdir()
        f["garbage" + suffix] = d / ("garbage" + suffix)
        f["garbage" + suffix].write_bytes(rng.integers(0, 256, 1000, dtype=np.uint8).tobytes())
        f["empty" + suffix] = d / ("empty" + suffix)
        f["empty" + suffix].write_bytes(b"")
    # Parameter files crafted against the reader: groups nested 100,000 deep,
    # 65 dimensions, a (0, 2**62) shape, a count that overflows int64.
    f["deep.protobuf"] = d / "deep.protobuf"
    f["deep.protobuf"].write_bytes(_field(200, 2, _field(1, 2, b"w") + _varint(5 << 3 | 3) * 100000))
    f["dims65.protobuf"] = d / "dims65.protobuf"
    f["dims65.protobuf"].write_bytes(_parameter(b"w", [1] * 65))
    f["zero_by_2e62.protobuf"] = d / "zero_by_2e62.protobuf"
    f["zero_by_2e62.protobuf"].write_bytes(_parameter(b"fc1/affine/W", [0, 2 ** 62]))
    f["overflow.protobuf"] = d / "overflow.protobuf"
    f["overflow.protobuf"].write_bytes(_parameter(b"w", [2 ** 40, 2 ** 40], _field(100, 2, b"\0" * 8)))
    f["nan.protobuf"] = d / "nan.protobuf"
    save_parameters(f["nan.protobuf"], dict(params, **{"fc2/affine/b": np.full(64, np.nan, np.float32)}))
    f["wrong_suffix.txt"] = d / "wrong_suffix.txt"
    f["wrong_suffix.txt"].write_bytes(f["params"].read_bytes())
    f["params_as_checkpoint.nnvckpt"] = d / "params_as_checkpoint.nnvckpt"
    f["params_as_checkpoint.nnvckpt"].write_bytes(f["params"].read_bytes())

    # A header of JSON nested 100,000 deep, with a right digest.
    header = ('{"meta": ' + "[" * 100000 + "]" * 100000 + ', "arrays": []}').encode()
    prefix = struct.pack("<8sIIQQ", b"NNVAECKP", 1, 0, len(header), 0)
    f["deep_json"] = d / "deep_json.nnvckpt"
    f["deep_json"].write_bytes(prefix + hashlib.sha256(prefix + header).digest() + header)
    header = b'{"meta": {}, "arrays": [{"name": "a", "dtype": "<f4", "shape": [1], "offset": Infinity, "nbytes": 4}]}'
    prefix = struct.pack("<8sIIQQ", b"NNVAECKP", 1, 0, len(header), 0)
    f["infinite_offset"] = d / "infinite_offset.nnvckpt"
    f["infinite_offset"].write_bytes(prefix + hashlib.sha256(prefix + header).digest() + header)

    # Checkpoints whose digest is right but whose fields are not.
    arrays, meta = load_checkpoint(f["checkpoint"])
    first = next(iter(meta["adam_t"]))
    variants = {
        "no_setting": lambda a, m: m["settings"].pop("hidden"),
        "setting_str": lambda a, m: m["settings"].update(hidden="64"),
        "setting_float": lambda a, m: m["settings"].update(iterations=20.5),
        "setting_huge": lambda a, m: m["settings"].update(iterations=2 ** 63),
        "setting_int32": lambda a, m: m["settings"].update(hidden=2 ** 31),
        "setting_threads": lambda a, m: m["settings"].update(threads=100000),
        "setting_nan": lambda a, m: m["settings"].update(learning_rate=float("nan")),
        "setting_unknown": lambda a, m: m["settings"].update(bogus=1),
        "setting_dataset": lambda a, m: m["settings"].update(dataset=["mnist"]),
        "settings_list": lambda a, m: m.update(settings=[1, 2]),
        "no_state": lambda a, m: m.pop("state"),
        "state_str": lambda a, m: m["state"].update(iteration="20"),
        "state_huge": lambda a, m: m["state"].update(iteration=2 ** 70),
        "state_nan": lambda a, m: m["state"].update(loss_sum=float("nan")),
        "no_order": lambda a, m: a.pop("state/order"),
        "order_2d": lambda a, m: a.update({"state/order": a["state/order"].reshape(-1, 2)}),
        "adam_t_negative": lambda a, m: m["adam_t"].update({first: -1}),
        "adam_t_str": lambda a, m: m["adam_t"].update({first: "1"}),
        "elapsed_inf": lambda a, m: m.update(elapsed_seconds=float("inf")),
        "no_history": lambda a, m: a.pop("history/train_loss"),
        "no_parameters": lambda a, m: [a.pop(k) for k in list(a) if k.startswith("param/")],
        "format": lambda a, m: m.update(format="something else"),
        # Entries this nnvae does not know: refused, not skipped.
        "adam_extra_key": lambda a, m: a.update({f"adam/{first}/foo": np.zeros(3, np.float32)}),
        "adam_t_unknown": lambda a, m: m["adam_t"].update({"fc9/affine/W": 3}),
        "adam_orphan": lambda a, m: a.update({"adam/fc9/affine/W/mean": np.zeros(3, np.float32)}),
        "array_unknown": lambda a, m: a.update({"history/lr": np.zeros(3, np.float32)}),
        "meta_unknown": lambda a, m: m.update(notes="x"),
        "state_unknown": lambda a, m: m["state"].update(momentum=1),
    }
    for name, change in variants.items():
        a, m = dict(arrays), json.loads(json.dumps(meta))
        change(a, m)
        f[name] = d / f"{name}.nnvckpt"
        save_checkpoint(f[name], a, m)

    # Data folders whose test images file is hostile (the others are the real ones).
    source = Path(root) / "mnist" if (Path(root) / "mnist").is_dir() else Path(root)
    for kind in ("fifo", "sparse", "zero", "garbage"):
        folder = d / f"data_{kind}" / "mnist"
        folder.mkdir(parents=True)
        for p in source.iterdir():
            if "t10k-images" not in p.name:
                os.symlink(p, folder / p.name)
        target = folder / "t10k-images-idx3-ubyte"
        if kind == "fifo":
            os.mkfifo(target)
        elif kind == "sparse":
            with open(target, "wb") as h:
                h.truncate(30 << 30)
        elif kind == "zero":
            os.symlink("/dev/zero", target)
        else:
            target.write_bytes(rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
        f[f"data_{kind}"] = folder.parent
    return {k: str(v) for k, v in f.items()}


HOSTILE_PARAMS = ["fifo.protobuf", "sparse.protobuf", "zero.protobuf", "folder.protobuf", "garbage.protobuf",
                  "empty.protobuf", "fifo.h5", "sparse.h5", "zero.h5", "folder.h5", "garbage.h5", "empty.h5",
                  "deep.protobuf", "dims65.protobuf", "nan.protobuf", "zero_by_2e62.protobuf", "overflow.protobuf",
                  "wrong_suffix.txt", "checkpoint", "nope.protobuf"]
HOSTILE_CHECKPOINTS = ["fifo.nnvckpt", "sparse.nnvckpt", "zero.nnvckpt", "folder.nnvckpt", "garbage.nnvckpt",
                       "empty.nnvckpt", "params", "params_as_checkpoint.nnvckpt", "no_setting", "setting_str",
                       "setting_float", "setting_huge", "setting_int32", "setting_threads", "setting_nan",
                       "setting_unknown", "setting_dataset", "settings_list", "no_state", "state_str",
                       "state_huge", "state_nan", "no_order", "order_2d", "adam_t_negative", "adam_t_str",
                       "elapsed_inf",
                       "no_history", "no_parameters", "format", "adam_extra_key", "adam_t_unknown", "adam_orphan",
                       "array_unknown", "meta_unknown", "state_unknown", "deep_json", "infinite_offset",
                       "nope.nnvckpt"]
HOSTILE_DATA = ["data_fifo", "data_sparse", "data_zero", "data_garbage"]
NUL = "a\0b"


def _config_rejects(name: str, text: str) -> bool:
    """Whether VaeConfig (the owner of the training options' checks) refuses
    `text` for field `name`: such values are the bad ones to try."""
    cfg = _core.vae.VaeConfig()
    try:
        cfg.update({name: text})
        cfg.validate()
    except (ValueError, TypeError):
        return True
    return False


INT_TEXTS = ["", "abc", "1.5", "1e3", "0x10", "-1", "0", "2147483648", "-2147483649", "9223372036854775808",
             "-9223372036854775809", "99999999999999999999999999"]
REAL_TEXTS = ["", "abc", "nan", "inf", "-inf", "1e400", "-1", "0", "1", "2147483648", "0x"]
CHOICE_TEXTS = ["", "bogus", "STATIC", "glorot ", "-1"]


def train_cases(files):
    """(entry, argv) of every train option with each bad value."""
    cases = []
    for f in _core.vae.VaeConfig.fields():
        texts = {"int": INT_TEXTS, "float": REAL_TEXTS}.get(f["kind"], CHOICE_TEXTS)
        for text in texts:
            if _config_rejects(f["name"], text):
                cases.append(["--" + f["flag"], text])
    cases += [["--batch-size", "60001"], ["--hidden", "10000000"], ["--hidden", "2000000", "--latent", "2000000"]]
    for text in ["", "abc", "0", "-1", "1.5"]:
        cases += [["--epochs", text], ["--checkpoint-every", text]]
    cases += [["--epochs", "99999999999999999999999999"]]
    cases += [["--epochs", "2", "--iterations", "5"], ["--dataset", "bogus"], ["--dataset", ""],
              ["--graph"], ["--unknown-option", "1"]]
    cases += [["--out", files["params"]], ["--out", "/proc/nope/run"], ["--out", "/dev/null/run"],
              ["--out", NUL]]
    cases += [["--resume", files[name]] if name in files else ["--resume", name] for name in HOSTILE_CHECKPOINTS]
    cases += [["--resume", NUL], ["--resume", files["checkpoint"], "--latent", "9"],
              ["--resume", files["checkpoint"], "--iterations", "10"],
              ["--resume", files["checkpoint"], "--dataset", "fashion-mnist"]]
    cases += [["--data-dir", files[name]] for name in HOSTILE_DATA + ["params"]] + [["--data-dir", NUL]]
    out = []
    for argv in cases:
        full = ["--iterations", "5"] if "--iterations" not in argv and "--epochs" not in argv else []
        data = [] if "--data-dir" in argv else ["--data-dir", files["root"]]
        out.append(("nnvae", ["train", *data, "--no-progress", *full, *argv]))
    # nnvae-train is the same command through its own entry point.
    out += [("nnvae-train", argv[1:]) for _, argv in out[:5]]
    return out


def evaluate_generate_cases(files):
    common = [["--threads", t] for t in ("0", "-1", "100000", "2147483648", "abc")]
    common += [["--dataset", "bogus"]] + [["--data-dir", files[name]] for name in HOSTILE_DATA]
    common += [["--seed", t] for t in ("-1", "4294967296", "abc", "")]
    evaluate = [["--k", t] for t in ("0", "-1", "2147483648", "100001", "abc", "1.5")]
    evaluate += [["--limit", t] for t in ("0", "-1", "2147483648", "abc")]
    evaluate += [["--json", "/proc/nope/r.json"], ["--json", files["folder.protobuf"]], ["--json", NUL]]
    generate = [["--n", t] for t in ("0", "-1", "10001", "2147483648", "abc")]
    generate += [["--steps", t] for t in ("1", "101", "-1", "abc")]
    generate += [["--interpolate", *ab] for ab in (("10", "3"), ("-1", "0"), ("2147483648", "0"), ("a", "b"))]
    generate += [["--interpolate", "70000", "0", "--by-index"], ["--interpolate", "0", "-1", "--by-index"],
                 ["--interpolate", "1"]]
    generate += [["--out", "x.txt"], ["--out", NUL + ".png"], ["--out", "/proc/nope/x.png"],
                 ["--out", files["folder.protobuf"] + "/x/y.png"], ["--out", files["folder.h5"]]]
    cases = []
    for command, own in (("evaluate", evaluate), ("generate", generate)):
        for argv in own + common:
            fast = ["--limit", "5", "--k", "1"] if command == "evaluate" and "--limit" not in argv else []
            if command == "generate" and "--data-dir" in argv:  # only an interpolation reads the data
                fast = ["--interpolate", "3", "7", "--out", "i.png"]
            data = [] if "--data-dir" in argv else ["--data-dir", files["root"]]
            cases.append(("nnvae", [command, "--params", files["params"], *data, *fast, *argv]))
        for name in HOSTILE_PARAMS:
            cases.append(("nnvae", [command, "--params", files.get(name, name), "--data-dir", files["root"]]))
        cases.append(("nnvae", [command, "--params", NUL]))
        cases.append(("nnvae", [command]))  # --params is required
    return cases


def data_cases(files):
    cases = [["data", action, "--dataset", "bogus"] for action in ("fetch", "verify", "info", "path")]
    cases += [["data", "verify", "--data-dir", files[name]] for name in HOSTILE_DATA]
    cases += [["data"], ["data", "bogus"], ["bogus"]]
    return [("nnvae", argv) for argv in cases]


def test_every_option_with_bad_values(files, root, tmp_path):
    files = dict(files, root=str(root))
    cases = train_cases(files) + evaluate_generate_cases(files) + data_cases(files)
    assert len(cases) > 250
    results = run_cases(cases, tmp_path)
    for case, result in zip(cases, results):
        check_refused(case, result)
    # The hostile files are as they were: no temporary files beside them.
    assert not [p for p in Path(files["params"]).parent.rglob("*.tmp")]


# --------------------------------------------------------------------------
# The examples, each with the line it gets

EXAMPLES = [
    (["train", "--iterations", "9223372036854775808"], 2,
     "--iterations: 9223372036854775808 is too large (at most 9223372036854775807)"),
    (["train", "--hidden", "2147483648"], 2, "--hidden: 2147483648 is too large (at most 2147483647)"),
    (["train", "--threads", "100000"], 2, "more than this machine can sensibly run"),
    (["train", "--iterations", "5", "--hidden", "10000000"], 2, "parameters; training them needs 2.8 PiB"),
    (["evaluate", "--params", "{params}", "--k", "2147483648"], 2, "argument --k: must be from 1 to"),
    (["evaluate", "--params", "{sparse.protobuf}"], 1, "sparse.protobuf: is 30.0 GiB, more than a parameter file"),
    (["evaluate", "--params", "{sparse.h5}"], 1, "sparse.h5: is 30.0 GiB, more than a parameter file"),
    (["train", "--resume", "{sparse.nnvckpt}"], 1, "sparse.nnvckpt: is 30.0 GiB, more than a checkpoint"),
    (["evaluate", "--params", "{fifo.protobuf}"], 1, "fifo.protobuf: is a FIFO, not a regular file"),
    (["evaluate", "--params", "{zero.protobuf}"], 1, "zero.protobuf: is a device, not a regular file"),
    (["evaluate", "--params", "{deep.protobuf}"], 1, "groups nested deeper than"),
    (["evaluate", "--params", "{dims65.protobuf}"], 1, "more than 64 dimensions"),
    (["generate", "--params", "{nan.protobuf}"], 1, "parameter fc2/affine/b holds 64 values that are NaN or infinite"),
    (["evaluate", "--params", "{zero_by_2e62.protobuf}"], 1, "zero_by_2e62.protobuf: a parameter's shape is beyond"),
    (["train", "--resume", "{deep_json}"], 1, "deep_json.nnvckpt: checkpoint header is malformed: nested too deeply"),
    (["train", "--resume", "{no_setting}"], 1, "no_setting.nnvckpt: checkpoint field settings.hidden is missing"),
    (["train", "--resume", "{setting_str}"], 1, "setting_str.nnvckpt: checkpoint field settings.hidden is str"),
    (["train", "--resume", "{setting_threads}"], 2, "thread count 100000 is more than"),
    (["train", "--resume", "{setting_nan}"], 1, "setting_nan.nnvckpt: checkpoint field settings.learning_rate is nan: "
     "--learning-rate: expected a finite decimal number (such as 0.0003 or 3e-4), got 'nan'"),
    (["train", "--resume", "{adam_extra_key}"], 1, "adam_extra_key.nnvckpt: checkpoint field "
     "adam/fc1/affine/W/foo is not a state of the trainer's solver (it keeps mean, var)"),
    (["train", "--resume", "{adam_t_unknown}"], 1, "adam_t_unknown.nnvckpt: checkpoint field adam_t.fc9/affine/W is "
     "for a parameter the model lacks (the VAE of latent 8, hidden 64 has no fc9/affine/W)"),
    (["train", "--resume", "{adam_orphan}"], 1, "adam_orphan.nnvckpt: checkpoint field adam/fc9/affine/W/mean is "
     "Adam's state of a parameter without a step count (no adam_t.fc9/affine/W)"),
    (["train", "--resume", "{array_unknown}"], 1, "array_unknown.nnvckpt: checkpoint field history/lr is not an "
     "array of an nnvae training checkpoint"),
    (["train", "--resume", "{meta_unknown}"], 1, "meta_unknown.nnvckpt: checkpoint field notes is not a field of an "
     "nnvae training checkpoint"),
    (["train", "--resume", "{state_unknown}"], 1, "state_unknown.nnvckpt: checkpoint field state.momentum is not a "
     "field of the training loop's state"),
    (["evaluate", "--params", "{params}", "--limit", "5", "--data-dir", "{data_fifo}"], 1,
     "t10k-images-idx3-ubyte: is a FIFO, not a regular file"),
    (["evaluate", "--params", "{params}", "--limit", "5", "--data-dir", "{data_zero}"], 1,
     "t10k-images-idx3-ubyte: is a device, not a regular file"),
    (["evaluate", "--params", "{params}", "--limit", "5", "--data-dir", "{data_sparse}"], 1,
     "t10k-images-idx3-ubyte: is 30.0 GiB, more than a data file can be (64.0 MiB at most)"),
    (["evaluate", "--params", "a\0b.protobuf"], 2, "argument 'a\\x00b.protobuf' holds a NUL byte"),
]


def _fill(text: str, files) -> str:
    for key, path in files.items():
        text = text.replace("{" + key + "}", path)
    return text


def test_each_example_gets_its_exit_code_and_error_line(files, root, tmp_path):
    files = dict(files, root=str(root))
    cases = []
    for argv, _, _ in EXAMPLES:
        argv = [_fill(a, files) for a in argv]
        if argv[0] == "train":
            argv[1:1] = ["--data-dir", files["root"], "--no-progress"]
        cases.append(("nnvae", argv))
    for (argv, code, message), result in zip(EXAMPLES, run_cases(cases, tmp_path)):
        check_refused(argv, result)
        assert result["code"] == code, (argv, result)
        assert message in result["stderr"], (argv, result["stderr"])


def test_a_checkpoint_from_a_bigger_machine_resumes_with_fewer_threads(files, root, tmp_path):
    # Its thread count is beyond this machine; --threads (a setting a resumed run may change) fixes it.
    r = run_cli("train", "--data-dir", root, "--no-progress", "--resume", files["setting_threads"], "--threads", 1,
                "--out", tmp_path / "run", "--no-pictures")
    assert r.returncode == 0, r.stderr
    assert "finishing the run" in r.stdout and (tmp_path / "run" / "metrics.json").is_file()


def test_paths_with_a_nul_byte_through_the_api(tmp_path):
    # No path can hold a NUL byte; cut short at it, it would name another file.
    from nnvae.app.data.catalogue import DatasetError
    from nnvae.app.data.idx import read_idx
    from nnvae.errors import NnvaeError
    from nnvae.app.checkpoint_file import CheckpointError, load_checkpoint
    from nnvae.params_io import ParameterFileError, load_parameters
    from nnvae.app.training import load_training_checkpoint

    (tmp_path / "a").write_bytes(b"")
    cut = str(tmp_path / "a") + "\0b"
    for call, error in ((load_parameters, ParameterFileError), (load_checkpoint, CheckpointError),
                        (read_idx, DatasetError), (load_training_checkpoint, NnvaeError)):
        with pytest.raises(error, match="NUL byte"):
            call(cut + ".protobuf" if call is load_parameters else cut)


@pytest.mark.parametrize("raised, code, line", [
    (MemoryError("out of memory for an array of shape (9, 9)"), 1,
     "nnvae: error: out of memory for an array of shape (9, 9)"),
    (MemoryError(), 1, "nnvae: error: out of memory"),
    (PermissionError(13, "Permission denied", "/x/y"), 1, "nnvae: error: /x/y: Permission denied"),
    (RuntimeError("something\nunexpected"), 1,
     "nnvae: internal error: RuntimeError: something unexpected (please report this with the command that caused "
     "it; NNVAE_TRACEBACK=1 shows the traceback)"),
])
def test_the_last_resort_says_one_line(monkeypatch, capsys, raised, code, line):
    # Whatever escapes a command (a bug, memory, the system) ends as one line and exit 1.
    from nnvae.app import cli
    from nnvae.app.commands import data

    def boom(args):
        raise raised

    monkeypatch.delenv("NNVAE_TRACEBACK", raising=False)
    monkeypatch.setattr(data, "run", boom)
    with pytest.raises(SystemExit) as info:
        cli.main(["data", "path"])
    assert info.value.code == code
    assert capsys.readouterr().err == line + "\n"


def test_a_reader_that_goes_away_ends_the_command_quietly(tmp_path):
    # `nnvae data info | head -0`: no traceback, no error line; 141 as for SIGPIPE.
    import nnvae

    env = dict(os.environ, PYTHONPATH=str(Path(nnvae.__file__).parents[1]))
    p = subprocess.Popen([sys.executable, "-m", "nnvae.app.cli", "data", "info", "--data-dir", str(tmp_path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=60) == 141 and err == ""
