"""nnvae.cmake_prefix_path and `nnvae --cmake-prefix-path` name a folder
that holds nnvaeConfig.cmake in every install mode, or say plainly that
there is none. After `pip install -e .` the package's own folder is the
source tree (python/nnvae, no CMake files) and scikit-build-core keeps the
installed C++ side apart, on the package's __path__ and beside _core: the
folder named is that one. (test_cpp_package.py builds examples/cpp with it,
whatever the install mode.)"""
import pytest

import nnvae
from nnvae.app import cli


def layout(tmp_path):
    """A source tree without CMake files and an install tree with them, as
    an editable install lays them out."""
    source, installed = tmp_path / "python" / "nnvae", tmp_path / "site-packages" / "nnvae"
    source.mkdir(parents=True)
    (installed / "lib" / "cmake" / "nnvae").mkdir(parents=True)
    (installed / "lib" / "cmake" / "nnvae" / "nnvaeConfig.cmake").write_text("# the package\n")
    return source, installed


def test_the_folder_with_the_cmake_package_is_found(tmp_path):
    source, installed = layout(tmp_path)
    # Editable: __path__ is the install tree and the sources (either order), then _core's folder.
    assert nnvae._find_cmake_prefix([str(installed), str(source), str(installed)]) == str(installed)
    assert nnvae._find_cmake_prefix([str(source), str(installed)]) == str(installed)
    # A source tree on PYTHONPATH with a locally built _core: none.
    assert nnvae._find_cmake_prefix([str(source), str(source)]) is None


def test_the_command_prints_it_or_says_there_is_none(tmp_path, monkeypatch, capsys):
    _, installed = layout(tmp_path)
    monkeypatch.setattr(nnvae, "cmake_prefix_path", str(installed))
    with pytest.raises(SystemExit) as e:
        cli.main(["--cmake-prefix-path"])
    assert e.value.code == 0 and capsys.readouterr().out == f"{installed}\n"
    monkeypatch.setattr(nnvae, "cmake_prefix_path", None)
    with pytest.raises(SystemExit) as e:
        cli.main(["--cmake-prefix-path"])
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("nnvae: error: this nnvae has no C++ package: it runs from ")
    assert "without an install" in err and err.count("\n") == 1


def test_the_named_folder_holds_the_package():
    if nnvae.cmake_prefix_path is None:
        pytest.skip(f"nnvae runs from {nnvae.__path__[0]} without an install (no C++ package to find)")
    from pathlib import Path

    assert (Path(nnvae.cmake_prefix_path) / "lib" / "cmake" / "nnvae" / "nnvaeConfig.cmake").is_file()
