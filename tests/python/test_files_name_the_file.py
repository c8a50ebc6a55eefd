"""A write that fails (a full disk) names its file: write(2)'s own error
carries no file name, and a message would read 'cannot write None'."""
import errno
import os

import pytest

from nnvae import files


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_atomic_write_names_the_file(tmp_path):
    path = tmp_path / "metrics.json"
    with pytest.raises(OSError) as info:
        files.atomic_write(path, lambda f: no_space())
    assert info.value.filename == str(path) and info.value.errno == errno.ENOSPC
    assert os.listdir(tmp_path) == []  # no temporary file left


def test_line_log_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "log.txt"
    with files.LineLog(path) as log:
        log.line("first")
        monkeypatch.setattr(files.os, "write", no_space)
        with pytest.raises(OSError) as info:
            log.line("second")
    assert info.value.filename == str(path) and info.value.strerror == "No space left on device"
    assert path.read_text() == "first\n"
