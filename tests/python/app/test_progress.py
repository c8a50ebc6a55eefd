"""The progress display on a real terminal: nnvae-train runs in a
pseudo-terminal of 40, 80 and 200 columns, and its output is played through
a terminal emulator (pyte); every redraw of the bar fits the width, and the
final screen with its scrollback holds exactly the lines the run printed,
with nothing of a bar left over. Off a terminal there is no bar at all."""
import re

import pytest

from nnvae.app.training.progress import ProgressBar, fit_line

from terminal import RecordingStream, emulate, run_in_terminal
from vae_fixtures import SMALL, data_root

pyte = pytest.importorskip("pyte", reason="pyte (tests/requirements.txt) emulates the terminal")

ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
# The command-line arguments of a short run, its progress bar left on.
RUN = [a for a in SMALL if a != "--no-progress"] + ["--no-pictures", "--iterations", "300"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return data_root(tmp_path_factory)


def bar_draws(text):
    """Each state of the bar line: the visible text of every stretch between
    carriage returns and newlines that erases to the end of its line."""
    draws = [ESCAPE.sub("", seg) for seg in re.split(r"[\r\n]", text) if seg.endswith("\x1b[K")]
    return [d for d in draws if d]


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_bar_fits_and_leaves_nothing_behind(root, tmp_path, columns):
    out = tmp_path / "run"
    code, text = run_in_terminal(["train", "--data-dir", root, *RUN, "--out", out], tmp_path, columns)
    assert code == 0, text[-2000:]
    draws = bar_draws(text)
    assert len(draws) >= 10, text[:2000]  # the bar was drawn, during training and the evaluation
    assert any("/10000" in d for d in draws)  # the evaluation's
    widest = max(len(d) for d in draws)
    assert widest < columns, max(draws, key=len)
    if columns >= 80:  # room enough for the speed and the losses
        assert any("tloss" in d and "it/s" in d for d in draws) and widest > 60

    # What the terminal shows in the end is exactly the printed lines (the
    # monitor lines may wrap at 40 columns, so compare without the layout).
    log = (out / "log.txt").read_text().splitlines()
    monitor = [l for l in log if l.startswith("iter: ")]
    assert len(monitor) == 30
    shown = emulate(text, columns)
    assert not any("/s" in l or "left" in l or "[#" in l or "[." in l for l in shown), shown
    printed = ["run folder: " + str(out)] + monitor
    joined = "".join(shown).replace(" ", "")
    assert joined.startswith("".join(printed).replace(" ", "")), shown[:8]
    assert shown[-2].startswith("test negative ELBO: ") or "testnegativeELBO:" in joined
    assert re.search(r"wrote.*in" + re.escape(str(out).replace(" ", "")) + "$", joined)


def test_quiet_prints_the_folder_and_the_result_only(root, tmp_path):
    out = tmp_path / "run"
    code, text = run_in_terminal(["train", "--data-dir", root, *RUN, "--out", out, "--quiet"], tmp_path, 200)
    assert code == 0, text[-2000:]
    shown = emulate(text, 200)
    assert shown[0] == f"run folder: {out}"
    assert len(shown) == 2 and shown[1].startswith("test negative ELBO: ") and "nats per image" in shown[1]
    assert "\x1b[K" not in text  # no bar either
    assert len([l for l in (out / "log.txt").read_text().splitlines() if l.startswith("iter: ")]) == 30


def test_fit_line_leaves_the_last_three_columns_free():
    fields = ["12345/60000", "1:23:45 left", "4321 it/s", "tloss 123.45  vloss 123.45"]
    for columns in range(1, 260):
        line = fit_line(fields, 0.37, columns)
        assert len(line) <= max(columns - 3, 0), (columns, line)  # room for an echoed ^C
        if columns >= 30:
            assert line.startswith("[") and "12345/60000" in line  # bar and count come first
    assert fit_line(fields, 0.5, 200) == "[" + "#" * 15 + "." * 15 + "] " + "  ".join(fields)


def test_redraws_erase_and_clear(monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    term = RecordingStream()
    bar = ProgressBar(term, 100, 0, True)
    bar.show(10, 500.0, 400.0)
    bar.clear()
    bar.show(20)
    bar.done()
    parts = term.text.split("\r")[1:]
    assert all(p == "\x1b[K" or p.endswith("\x1b[K") for p in parts)
    assert all(len(p) - 3 < 120 for p in parts)
    assert term.text.endswith("\r\x1b[K")  # nothing is left on the line at the end
    assert parts[2].startswith("[") and "20/100" in parts[2] and "tloss 500.00" in parts[2]  # losses kept
    off = RecordingStream()
    quiet = ProgressBar(off, 100, 0, False)
    quiet.show(50)
    quiet.done()
    assert off.text == ""
