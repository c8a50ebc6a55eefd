"""Tests report through pytest, not by printing: a line given to the
report_line fixture appears in the terminal summary's "nnvae reports"
section, and nothing lands between the progress dots."""
import re
from pathlib import Path

pytest_plugins = ["pytester"]

HERE = Path(__file__).resolve().parent


def test_report_lines_go_to_the_summary(pytester):
    pytester.makeconftest((HERE / "conftest.py").read_text())
    pytester.makepyfile(test_counts="""
        import pytest

        @pytest.mark.parametrize("n", range(5))
        def test_some(n):
            assert n >= 0

        def test_counts(report_line):
            report_line("hostile API: shapes: 240 cases (100 returned a checked result)")
    """)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)
    lines = result.outlines
    assert "......" in lines[0] and re.fullmatch(r"\.{6}\s+\[100%\]", lines[0]), lines
    start = next(i for i, l in enumerate(lines) if "nnvae reports" in l)
    assert lines[start + 1] == "hostile API: shapes: 240 cases (100 returned a checked result)"


def test_no_test_prints_past_the_capture():
    """No test file writes to the terminal itself (capsys.disabled, or the
    terminal's own stream): such lines break the rows of progress dots."""
    offenders = [str(p.relative_to(HERE)) for p in HERE.rglob("test_*.py")
                 if p.name != Path(__file__).name and re.search(r"capsys\.disabled|sys\.__stdout__",
                                                                  p.read_text())]
    assert offenders == []
