"""The parameter files NNabla's own MNIST programs write when built on nnvae
(the ctests nnabla_<model>_<mode>_<data>, tests/nnabla_example), read by
NNabla 1.39.0, and NNabla's files of the same parameters read by nnvae.

The ctests leave each run's folder, run_<model>_<mode>_<data>, under
<build>/cpp/compat/nnabla_example (where cpp/compat/CMakeLists.txt builds
tests/nnabla_example), holding the snapshot the program wrote last,
saved_<model>_param[_d].protobuf. For every such file: NNabla's
nn.load_parameters reads every parameter with the names (in order), shapes,
bits and need_grad flags nnvae.load_parameters reads, the batch
normalization's running statistics among them under the C++ API's names
(bn/mean, bn/variance); and the file NNabla's nn.save_parameters writes of
what it read, nnvae reads back to the same. No program runs here: the files
are the ctests'.

<build> is $NNVAE_TEST_BUILD_DIR (relative to the repository, as tests/run
takes it), by default build/tests, tests/run's. A program without a file
there (ctest not run first, or ../shared without NNabla's examples) is
skipped, with the reason.
"""
import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from nnabla_env import run  # noqa: E402

import nnvae  # noqa: E402

REPO = HERE.parents[1]
# NNabla's six MNIST programs, as the ctests name them.
MODELS = ["vae", "lenet", "resnet", "dcgan", "siamese", "vat"]
# The programs whose models hold a batch normalization.
WITH_BATCH_NORMALIZATION = ["resnet", "dcgan", "vat"]


def runs_folder():
    return REPO / os.environ.get("NNVAE_TEST_BUILD_DIR", "build/tests") / "cpp" / "compat" / "nnabla_example"


def program_files():
    """{model: [snapshot file, ...]} of every ctest run that wrote one."""
    found = {m: [] for m in MODELS}
    for model in MODELS:
        for folder in sorted(runs_folder().glob(f"run_{model}_*_*")):
            suffix = "_d" if folder.name.split("_")[2] == "dynamic" else ""
            f = folder / f"saved_{model}_param{suffix}.protobuf"
            if f.is_file():
                found[model].append(f)
    return found


def nnvae_reads(path):
    """[(name, float32 array, need_grad)] in the order nnvae.get_parameters
    gives them after nnvae.load_parameters(path) alone."""
    nnvae.clear_parameters()
    try:
        nnvae.load_parameters(path)
        return [(name, np.array(v.d, dtype=np.float32), bool(v.need_grad))
                for name, v in nnvae.get_parameters(grad_only=False).items()]
    finally:
        nnvae.clear_parameters()


def differences(got, ref_names, ref_arrays, ref_need_grad, what):
    """What differs between nnvae's reading `got` and NNabla's of one file."""
    names = [name for name, _, _ in got]
    if names != ref_names:
        return [f"{what}: NNabla reads the parameters {ref_names}, nnvae {names}"]
    bad = []
    for (name, arr, need_grad), ref, ref_flag in zip(got, ref_arrays, ref_need_grad):
        if arr.shape != ref.shape:
            bad.append(f"{what}: {name} has shape {ref.shape} in NNabla, {arr.shape} in nnvae")
        elif not np.array_equal(arr.view(np.uint32), ref.view(np.uint32)):
            k = int(np.flatnonzero(arr.view(np.uint32).ravel() != ref.view(np.uint32).ravel())[0])
            bad.append(f"{what}: {name} differs, first at flat index {k}: NNabla {float(ref.ravel()[k])!r}, "
                       f"nnvae {float(arr.ravel()[k])!r}")
        if need_grad != ref_flag:
            bad.append(f"{what}: {name} has need_grad {ref_flag} in NNabla, {need_grad} in nnvae")
    return bad


@pytest.fixture(scope="module")
def nnabla_readings(nnabla_python, tmp_path_factory):
    """NNabla's reading of every program file, in one run of NNabla:
    {file: (names, arrays, need_grad flags, NNabla's rewritten file) or
    an error message}."""
    files = [f for fs in program_files().values() for f in fs]
    if not files:
        return {}
    tmp = tmp_path_factory.mktemp("program_files")
    rewrite = [tmp / f"nnabla_{i}_{f.name}" for i, f in enumerate(files)]
    (tmp / "job.json").write_text(json.dumps({"files": [str(f) for f in files],
                                              "rewrite": [str(f) for f in rewrite]}))
    run(nnabla_python, str(HERE / "worker.py"), "params", str(tmp / "job.json"), str(tmp / "out.npz"))
    report = json.loads((tmp / "out.npz.json").read_text())
    readings = {}
    with np.load(tmp / "out.npz") as data:
        for i, (f, r) in enumerate(zip(files, report)):
            if "error" in r:
                readings[f] = r["error"]
            else:
                arrays = [data[f"{i}:{k}"] for k in range(len(r["names"]))]
                readings[f] = (r["names"], arrays, r["need_grad"], rewrite[i])
    return readings


@pytest.mark.parametrize("model", MODELS)
def test_program_parameter_files_read_the_same_in_nnabla_and_nnvae(model, nnabla_readings):
    files = program_files()[model]
    if not files:
        pytest.skip(f"no parameter file of NNabla's {model} program in {runs_folder()}/run_{model}_*: run "
                    f"ctest -R nnabla_{model} there first (its tests exist where ../shared holds NNabla's examples)")
    problems = []
    for f in files:
        what = f"{f.parent.name}/{f.name}"
        reading = nnabla_readings[f]
        if isinstance(reading, str):
            problems.append(f"NNabla 1.39.0 cannot read {what}: {reading}")
            continue
        names, arrays, need_grad, rewritten = reading
        problems += differences(nnvae_reads(f), names, arrays, need_grad, what)
        problems += differences(nnvae_reads(rewritten), names, arrays, need_grad,
                                f"NNabla's nn.save_parameters of {what}")
        if model in WITH_BATCH_NORMALIZATION:
            for stat in ("bn/mean", "bn/variance"):
                held = [n for n in names if n.endswith(stat)]
                if not held:
                    problems.append(f"{what}: NNabla reads no running statistic .../{stat}")
                flags = {flag for n, flag in zip(names, need_grad) if n.endswith(stat)}
                if flags - {False}:
                    problems.append(f"{what}: a running statistic .../{stat} has need_grad True")
        print(f"{what}: {len(names)} parameters, {sum(a.size for a in arrays)} values, the same in NNabla 1.39.0 "
              f"and nnvae")
    assert not problems, "\n".join(problems)



def test_the_comparison_names_each_kind_of_difference():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    ref = (["w", "bn/mean"], [a, np.zeros(3, np.float32)], [True, False])
    assert differences([("w", a.copy(), True), ("bn/mean", np.zeros(3, np.float32), False)], *ref, "f") == []
    assert differences([("bn/mean", np.zeros(3, np.float32), False), ("w", a, True)], *ref, "f") == [
        "f: NNabla reads the parameters ['w', 'bn/mean'], nnvae ['bn/mean', 'w']"]
    minus_zero = np.zeros(3, np.float32)
    minus_zero[1] = -0.0
    assert differences([("w", a.reshape(3, 2), True), ("bn/mean", minus_zero, True)], *ref, "f") == [
        "f: w has shape (2, 3) in NNabla, (3, 2) in nnvae",
        "f: bn/mean differs, first at flat index 1: NNabla 0.0, nnvae -0.0",
        "f: bn/mean has need_grad False in NNabla, True in nnvae"]
