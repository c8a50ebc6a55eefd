"""Every fenced block of README.md is run here, as a user would run it on the
installed package, so that the README cannot go stale:

- shell blocks: each command, with long runs made short (SHORTER), on the
  real MNIST (the data cache, else ../shared/data/mnist; skipped with the
  reason when neither has it); a `$ command` block's output lines must match
  what the command prints ("..." stands for anything, numbers for numbers);
- python blocks: run as a script;
- C++ and CMake blocks and cmake commands: built and run by the C++ tests
  (CPP_BLOCKS says which).

A block that no rule here covers fails `test_every_block_is_run`.
"""
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from vae_fixtures import NO_REAL_MNIST, REAL_MNIST, REPO

README = REPO / "README.md"
BIN = Path(sys.executable).parent  # where pip put nnvae and nnvae-train
# Long runs made short: (pattern, replacement) applied to each command.
SHORTER = [(r"--iterations \d+", "--iterations 20"), (r"--k \d+", "--k 5"), (r"--limit \d+", "--limit 100")]
# Commands the test does not run, and why.
NOT_RUN = {
    "pip install .": "the tests run against the package installed this way",
    "python -m pip install -r tests/requirements.txt": "installs what this test runs with",
    "tests/run": "runs this very test",
}
# C++ blocks, by their first line: the C++ tests build and run them.
CPP_BLOCKS = {
    "cmake -S . -B build": "the C++ build and ctest (tests/run builds the same tree)",
    "#include <nnvae/nnvae.hpp>": "the C++ API example, compiled by the C++ tests",
    "cmake -S examples/cpp": "built against the installed package and run by test_cpp_package.py",
    "find_package(nnvae": "examples/cpp/CMakeLists.txt's lines, checked by test_cpp_package.py",
    "cmake_minimum_required": "NNabla's VAE program's CMakeLists.txt, built by test_cpp_package.py",
}


def readme_blocks():
    """(language, text) of each fenced block, in order."""
    return re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(), flags=re.S | re.M)


def commands_of(text):
    """The commands of a shell block, each with the output lines shown after
    it (`$ cmd` blocks) or none; comments after # dropped."""
    lines = text.splitlines()
    if any(l.startswith("$ ") for l in lines):
        out = []
        for l in lines:
            if l.startswith("$ "):
                out.append([l[2:], []])
            else:
                out[-1][1].append(l)
        return [(c, o) for c, o in out]
    return [(l.split("  #")[0].strip(), []) for l in lines if l.strip()]


def pattern_of(line):
    """A regex for one README output line: '...' is anything, a number any number."""
    parts = re.split(r"(\.\.\.|\d+(?:\.\d+)?)", line)
    return "^" + "".join(".*" if p == "..." else r"\d+(?:\.\d+)?" if re.fullmatch(r"\d+(?:\.\d+)?", p)
                         else re.escape(p) for p in parts) + "$"


def block_rule(lang, text):
    """'python', 'shell', or the reason a block is not run here."""
    first = text.splitlines()[0] if text.strip() else ""
    if lang in ("cpp", "cmake") or first.startswith(("cmake ", "./build/")):
        rule = next((r for k, r in CPP_BLOCKS.items() if first.startswith(k)), None)
        assert rule is not None, f"no test runs this README block: add it to CPP_BLOCKS\n{text}"
        return rule
    return "python" if lang == "python" else "shell"


def test_every_block_is_run():
    rules = [block_rule(lang, text) for lang, text in readme_blocks()]
    assert rules.count("shell") >= 5 and rules.count("python") >= 1
    for lang, text in readme_blocks():
        if block_rule(lang, text) == "shell":
            for cmd, _ in commands_of(text):
                for part in cmd.split("&&"):
                    word = shlex.split(part)[0]
                    assert word in ("nnvae", "nnvae-train", "python", "pip", "tests/run", "cmake"), part


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A working folder and an environment whose data cache is the real MNIST."""
    if REAL_MNIST is None:
        pytest.skip(NO_REAL_MNIST)
    env = dict(os.environ, NNVAE_DATA=str(REAL_MNIST), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    return tmp_path_factory.mktemp("readme_user"), env


def run_command(cmd, cwd, env):
    """Run one README command (its parts joined by &&) after SHORTER and
    with runs/... replaced by the newest run folder; (command, stdout)."""
    for pattern, repl in SHORTER:
        cmd = re.sub(pattern, repl, cmd)
    runs = sorted((cwd / "runs").glob("*")) if (cwd / "runs").is_dir() else []
    if runs:
        cmd = cmd.replace("runs/...", f"runs/{runs[-1].name}")
    outputs = []
    for part in (p.strip() for p in cmd.split("&&")):
        if any(part.startswith(skip) for skip in NOT_RUN):
            continue
        if part.startswith("python "):
            part = shlex.quote(sys.executable) + part[len("python"):]
        r = subprocess.run(part, shell=True, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"README command failed: {part}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
        assert "Traceback" not in r.stderr, r.stderr
        outputs.append(r.stdout)
    return cmd, "".join(outputs)


SHELL_BLOCKS = [text for lang, text in readme_blocks() if block_rule(lang, text) == "shell"]


@pytest.mark.parametrize("text", SHELL_BLOCKS, ids=[t.splitlines()[0][:40] for t in SHELL_BLOCKS])
def test_shell_block(text, user):
    cwd, env = user
    if "benchmarks/" in text:
        # The benchmark takes minutes: its command is run with --help, from the checkout.
        cmd = [l for l in text.splitlines() if "benchmarks/" in l][0].split("#")[0].strip()
        _, out = run_command(cmd + " --help", REPO, env)
        assert "usage:" in out
        return
    for cmd, shown in commands_of(text):
        cmd, out = run_command(cmd, cwd, env)
        lines = out.splitlines()
        for want in (l for l in shown if l != "..."):
            assert any(re.match(pattern_of(want), got) for got in lines), (want, lines)


def test_python_blocks(tmp_path):
    blocks = [text for lang, text in readme_blocks() if lang == "python"]
    for i, text in enumerate(blocks):
        script = tmp_path / f"block{i}.py"
        script.write_text(text)
        r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
