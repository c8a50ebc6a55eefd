"""Every line the commands print fits an 80-column terminal or is wrapped at
spaces, with each path of a wrapped line on a row of its own: nnvae-train
and its Ctrl-C resume hint run in a pseudo-terminal of 80 columns, and the
screen is replayed by a terminal emulator (pyte). Off a terminal the lines
are left whole."""
import re
from pathlib import Path

import pytest

from nnvae.app.screen import INDENT, FittedStream, wrap_line

from terminal import RecordingStream, emulate, run_in_terminal
from test_progress import ESCAPE, RUN, root  # noqa: F401  (root: the data fixture)

pyte = pytest.importorskip("pyte", reason="pyte (tests/requirements.txt) emulates the terminal")
COLUMNS = 80


def printed_rows(text):
    """The rows the program itself wrote, its progress line's redraws left out."""
    rows = []
    for line in text.replace("\r\n", "\n").split("\n"):
        line = line.split("\r")[-1]  # what is left after the last redraw
        rows.append(ESCAPE.sub("", line))
    return [r for r in rows if r]


def check_fits(text, shown):
    assert all(len(r) < COLUMNS for r in printed_rows(text)), max(printed_rows(text), key=len)
    assert all(len(r) < COLUMNS for r in shown), max(shown, key=len)  # the terminal broke no line itself


def test_results_fit_80_columns(root, tmp_path):
    out = tmp_path / "run"
    code, text = run_in_terminal(["train", "--data-dir", root, *RUN, "--out", out], tmp_path, COLUMNS)
    assert code == 0, text[-2000:]
    shown = emulate(text, COLUMNS)
    check_fits(text, shown)
    result = shown.index(next(r for r in shown if r.startswith("test negative ELBO: ")))
    assert shown[result].endswith("nats per image (10000 test images, one sample;")
    assert shown[result + 1] == INDENT + "evaluation seed 706 for every run, training seed 313)"
    assert shown[-3].startswith("wrote parameters.protobuf, ")
    assert shown[-1] == INDENT + str(out)  # the run folder, whole, on its own row
    words = " ".join(shown).split()
    for name in ("evaluating", "metrics.json,", "checkpoint.nnvckpt,", "log.txt"):
        assert name in words


def test_the_resume_hint_keeps_its_paths_whole(root, tmp_path):
    out = Path("run")  # in tmp_path: a path as short as a user's, so that the rows fit
    args = ["train", "--data-dir", root, *RUN[:-1], "1000000", "--out", out, "--checkpoint-every", "100000"]
    code, text = run_in_terminal(args, tmp_path, COLUMNS, ctrl_c_after="iter: 19,")
    assert code == 130, text[-2000:]
    shown = emulate(text, COLUMNS)
    check_fits(text, shown)
    ckpt = out / "checkpoint.nnvckpt"
    start = shown.index(next(r for r in shown if r.startswith("nnvae: interrupted at iteration ")))
    rows = shown[start:]
    assert re.fullmatch(r"nnvae: interrupted at iteration \d+; checkpoint saved to", rows[0]), rows
    # Each path whole on a row of its own: the checkpoint named, then the resume command's.
    assert rows[1:4] == [INDENT + f"{ckpt};", INDENT + "continue with: nnvae-train --resume", INDENT + str(ckpt)], rows
    assert sum("interrupted" in r for r in shown) == 1  # said once


def test_lines_off_a_terminal_stay_whole(capsys):
    long = "word " * 40 + "/a/path/that/is/long"
    from nnvae.app.screen import fitted_lines

    with fitted_lines():  # capsys's streams are no terminals
        print(long)
    assert capsys.readouterr().out == long + "\n"


def test_fitted_stream(monkeypatch):
    monkeypatch.setenv("COLUMNS", "40")
    term = RecordingStream(tty=True)  # an 80-column terminal
    stream = FittedStream(term)
    stream.write("a short line\n")
    stream.write("\r[###.......] 3/10" + "\x1b[K")  # a progress redraw goes through at once
    assert term.text == "a short line\n\r[###.......] 3/10\x1b[K"
    stream.write("one two three four five six seven eight nine ten")
    assert term.text.endswith("\x1b[K")  # nothing of a line is written before it is whole
    stream.write("\n")
    assert term.text.endswith("\x1b[Kone two three four five six seven eight\n  nine ten\n")
    assert stream.isatty()
    assert wrap_line("  indented words " * 4, 30) == ["  indented words indented", "  words indented words",
                                                       "  indented words"]
    assert wrap_line("x " + "y" * 50, 20) == ["x", "  " + "y" * 50]  # a longer word runs over, alone
    # Paths on rows of their own, indented unless that would not fit.
    assert wrap_line("saved to a/b.txt; go on with: cmd --resume a/b.txt", 30) == [
        "saved to", "  a/b.txt;", "  go on with: cmd --resume", "  a/b.txt"]
    assert wrap_line("saved to " + "/d" * 14 + " ok", 30) == ["saved to", "/d" * 14, "  ok"]
