"""Shared pytest fixtures. Keep this file small: fixtures used by one test
file belong in that file."""
import urllib.error

import pytest

# Lines for pytest's terminal summary (report_line), shown after the run
# under "nnvae reports" rather than printed between the progress dots.
_REPORTS = []


@pytest.fixture
def report_line():
    """report_line(text) adds a line to the "nnvae reports" section of
    pytest's terminal summary: what a test wants the reader to see (counts,
    figures) without writing between the progress dots."""
    return _REPORTS.append


def pytest_terminal_summary(terminalreporter):
    if _REPORTS:
        terminalreporter.section("nnvae reports")
        for line in _REPORTS:
            terminalreporter.write_line(line)


@pytest.fixture
def fresh_engine():
    """The engine's global state reset around a test: no parameters,
    static-graph mode, a fixed seed. Opt in with
    ``pytestmark = pytest.mark.usefixtures("fresh_engine")``."""
    import nnvae

    nnvae.clear_parameters()
    nnvae.set_auto_forward(False)
    nnvae.seed(313)
    yield
    nnvae.clear_parameters()
    nnvae.set_auto_forward(False)


@pytest.fixture
def offline_data(tmp_path, monkeypatch):
    """The data package with no real cache (NNVAE_DATA unset, XDG_CACHE_HOME
    and HOME in tmp_path), no network and no pip: the data tests' base.
    nnvae.app.data.fetch reaches the network only through http_get and
    pip_download, both replaced here."""
    from nnvae.app.data import fetch as fetch_module

    monkeypatch.delenv("NNVAE_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    def no_network(url, timeout):
        raise urllib.error.URLError("network disabled in tests")

    def no_pip(requirement, folder):
        raise OSError("pip disabled in tests")

    monkeypatch.setattr(fetch_module, "http_get", no_network)
    monkeypatch.setattr(fetch_module, "pip_download", no_pip)
