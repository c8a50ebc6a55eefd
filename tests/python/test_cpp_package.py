"""The C++ package the wheel carries, used as the README's C++ section says:
find_package(nnvae) from `nnvae --cmake-prefix-path`, the example program
(examples/cpp, whose main.cpp is the README's C++ code) built and run, and
NNabla's own VAE program built unchanged on nnvae::nbla_compat from the
README's CMakeLists.txt (when ../shared holds that program, and real MNIST
is in the data cache or ../shared). Each builds in seconds."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nnvae
from nnvae import params_io
from vae_fixtures import NO_REAL_MNIST, REAL_MNIST, REPO

sys.path.insert(0, str(REPO / "tests" / "nnabla"))
import nnabla_env  # noqa: E402  (where the NNabla venv of tests/nnabla lives)

README = (REPO / "README.md").read_text()
BIN = Path(sys.executable).parent  # the venv's nnvae command and cmake
NNABLA_SRC = REPO.parent / "shared" / "nnabla-examples" / "mnist_collection"
# NNabla's program reads the four .gz files of its working folder.
MNIST_GZ = None if REAL_MNIST is None or len(list(REAL_MNIST.glob("*-ubyte.gz"))) != 4 else REAL_MNIST


def cpp_section():
    return README[README.index("## The C++ API\n"):README.index("## The Python API\n")]


def fenced(text, lang):
    """The contents of the fenced blocks of `text` whose language is `lang`."""
    blocks, current, current_lang = [], None, None
    for line in text.splitlines(keepends=True):
        if line.startswith("```"):
            if current is None:
                current, current_lang = [], line[3:].strip()
            else:
                if current_lang == lang:
                    blocks.append("".join(current))
                current = None
        elif current is not None:
            current.append(line)
    return blocks


def cmake():
    exe = shutil.which("cmake", path=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if exe is None:
        pytest.skip("cmake is not installed (pip install -r tests/requirements.txt)")
    return exe


def run(cmd, cwd, timeout=300, shell=False):
    # One OpenMP thread: the tests run beside others on few cores.
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", OMP_NUM_THREADS="1")
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, shell=shell)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout


def test_prefix_holds_the_package():
    prefix = Path(nnvae.cmake_prefix_path)
    assert (prefix / "lib" / "cmake" / "nnvae" / "nnvaeConfig.cmake").is_file()
    assert (prefix / "include" / "nnvae" / "nnvae.hpp").is_file()
    assert (prefix / "include" / "nnvae" / "compat" / "nbla_utils" / "parameters.hpp").is_file()
    out = run([str(BIN / "nnvae"), "--cmake-prefix-path"], cwd=REPO)
    assert out.strip() == str(prefix)


def test_readme_cpp_code_is_the_example():
    blocks = fenced(cpp_section(), "cpp")
    assert blocks and blocks[0] == (REPO / "examples" / "cpp" / "main.cpp").read_text()
    cmake_lists = (REPO / "examples" / "cpp" / "CMakeLists.txt").read_text()
    for line in fenced(cpp_section(), "cmake")[0].splitlines():
        assert line in cmake_lists, line


def test_example_builds_and_runs(tmp_path):
    """The README's commands, as written, on a copy of examples/cpp."""
    cmake()
    shutil.copytree(REPO / "examples" / "cpp", tmp_path / "examples" / "cpp")
    block = next(b for b in fenced(cpp_section(), "") if b.startswith("cmake -S examples/cpp"))
    out = run(" && ".join(block.strip().splitlines()), cwd=tmp_path, shell=True)
    losses = [float(v) for v in re.findall(r"step \d+: loss ([0-9.]+)", out)]
    assert len(losses) == 4 and losses[-1] < losses[0], out
    # main.cpp includes only <nnvae/nnvae.hpp>: saving and loading come with it.
    main = (REPO / "examples" / "cpp" / "main.cpp").read_text()
    assert re.findall(r"^#include .*$", main, re.M) == ["#include <nnvae/nnvae.hpp>", "#include <cstdio>"]
    n_values = 784 * 500 + 500 + 500 * 10 + 10
    assert f"saved 4 parameters to example.protobuf, loaded 4 back: {n_values} of {n_values} values equal" in out
    params = params_io.load_parameters(tmp_path / "build-example" / "example.protobuf")
    assert {k: v.shape for k, v in params.items()} == {
        "fc1/affine/W": (784, 500), "fc1/affine/b": (500,), "fc2/affine/W": (500, 10), "fc2/affine/b": (10,)}


@pytest.mark.skipif(not (NNABLA_SRC / "train_vae.cpp").is_file(), reason=f"NNabla's VAE program is not in {NNABLA_SRC}")
@pytest.mark.skipif(MNIST_GZ is None, reason=f"{NO_REAL_MNIST} (as the four .gz files NNabla's program reads)")
def test_nnabla_program_builds_on_the_installed_compat_target(tmp_path):
    exe = cmake()
    src = tmp_path / "nnabla_vae"
    src.mkdir()
    (src / "CMakeLists.txt").write_text(fenced(cpp_section(), "cmake")[1])
    for name in ("train_vae.cpp", "vae_training.hpp", "mnist_data.hpp"):
        text = (NNABLA_SRC / name).read_text()
        (src / name).write_text(text.replace("int max_iter = 60000;", "int max_iter = 20;"))
    build = tmp_path / "build"
    run([exe, "-S", str(src), "-B", str(build), f"-DCMAKE_PREFIX_PATH={nnvae.cmake_prefix_path}"], cwd=tmp_path)
    run([exe, "--build", str(build)], cwd=tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    for f in MNIST_GZ.glob("*-ubyte.gz"):
        (work / f.name).symlink_to(f)
    out = run([str(build / "train_vae"), "--dynamic"], cwd=work, timeout=120)
    assert re.findall(r"iter: (\d+), tloss", out) == ["9", "19"], out
    saved = work / "saved_vae_param_d.protobuf"
    params = params_io.load_parameters(saved)
    assert len(params) == 14 and params["fc5/affine/W"].shape == (500, 784)
    out = run([str(BIN / "nnvae"), "evaluate", "--params", str(saved), "--data-dir", str(MNIST_GZ), "--limit", "100",
               "--k", "2"], cwd=work)
    assert re.search(r"negative ELBO: \d+\.\d+ nats per image", out), out
    # NNabla itself, when its venv is there (tests/nnabla), reads the file and
    # writes it back byte for byte.
    nnabla_python = Path(nnabla_env.venv_python())
    if nnabla_python.is_file():
        script = ("import sys, nnabla as nn; nn.load_parameters(sys.argv[1]); "
                  "assert len(nn.get_parameters(grad_only=False)) == 14; nn.save_parameters(sys.argv[2])")
        run([str(nnabla_python), "-c", script, str(saved), str(work / "by_nnabla.protobuf")], cwd=work)
        assert (work / "by_nnabla.protobuf").read_bytes() == saved.read_bytes()
