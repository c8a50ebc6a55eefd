"""The README's usage sections as a new user follows them to the letter:
what the C++ build needs is said before its first command, the C++ sections
keep their builds apart and write nothing unasked into the checkout, CMake
names the missing Eigen's packages, every option --help shows is in the
README, and the reinstall command's build tools are pyproject's."""
import re
import shutil
import subprocess

import pytest


from command_parsers import command_parsers
from vae_fixtures import REPO

README = (REPO / "README.md").read_text()


def section(title):
    start = README.index(f"\n### {title}\n")
    return README[start:README.index("\n##", start + 5)]


def shell_commands(text):
    return [l for block in re.findall(r"^```\n(.*?)^```", text, flags=re.S | re.M) for l in block.splitlines()]


def test_cpp_only_says_what_it_needs_before_its_first_command():
    cpp_only = section("C++ only")
    first_command = cpp_only.index("```")
    assert "pip install cmeel-eigen==3.4.1" in cpp_only[:first_command]
    assert "libeigen3-dev" in cpp_only[:first_command]


def test_cpp_sections_use_their_own_build_folders_and_save_where_told():
    folders = {}
    for title in ("C++ only", "Use nnvae from your C++ program"):
        for cmd in shell_commands(section(title)):
            for folder in re.findall(r"-B (\S+)", cmd):
                folders.setdefault(folder, set()).add(title)
    assert all(len(titles) == 1 for titles in folders.values()), folders  # no section reconfigures another's
    assert "build" not in folders
    run = [c for c in shell_commands(section("C++ only")) if "train_vae" in c]
    assert run and all("--save build/" in c for c in run)  # not parameters.protobuf in the checkout


def test_cmake_names_the_packages_that_bring_eigen(tmp_path):
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed (pip install -r tests/requirements.txt)")
    r = subprocess.run([cmake, "-S", str(REPO), "-B", str(tmp_path / "b"), "-DCMAKE_DISABLE_FIND_PACKAGE_Eigen3=ON",
                        "-DNNVAE_BUILD_TESTS=OFF", "-DNNVAE_BUILD_PROGRAMS=OFF", "-DNNVAE_BUILD_PYTHON=OFF"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0
    message = " ".join(r.stderr.split())
    assert "nnvae needs Eigen 3.4 (headers only), and none was found" in message
    assert "pip install cmeel-eigen==3.4.1" in message and "apt-get install libeigen3-dev" in message


def options_of_every_command():
    """{command: [long option, ...]} as `nnvae` and `nnvae-train` parse them."""
    return {name: [o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"]
            for name, parser in command_parsers().items()}


def test_every_option_in_help_is_in_the_readme():
    usage = README[README.index("## Usage\n"):README.index("## The C++ API\n")]
    named = set(re.findall(r"--[a-z][a-z0-9-]*", " ".join(re.findall(r"`([^`]*)`", usage))))
    missing = {cmd: sorted(set(opts) - named) for cmd, opts in options_of_every_command().items()}
    assert {cmd: opts for cmd, opts in missing.items() if opts} == {}


def build_requires():
    """pyproject.toml's [build-system] requires (the owner of the list)."""
    text = (REPO / "pyproject.toml").read_text()
    block = re.search(r"^\[build-system\]\s*\nrequires = \[(.*?)\]", text, flags=re.M | re.S).group(1)
    return re.findall(r'"([^"]+)"', block)


def test_the_reinstall_command_brings_pyprojects_build_tools():
    setup = README[README.index("## Set up\n"):README.index("## Usage\n")]
    tools = next(c for c in re.findall(r"`([^`]*)`", setup) if c.startswith("pip install") and "pybind11" in c)
    given = [w.strip("'") for w in tools.split()[2:]]
    assert set(build_requires()) <= set(given), (build_requires(), given)
    assert "pip install --no-build-isolation ." in setup
