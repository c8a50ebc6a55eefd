"""What the commands answer to a mistyped or impossible option: messages that
say what is wrong in the user's terms, the same words as --help, no silent
abbreviations, and help text for every option."""

import pytest

from nnvae.app import cli

from command_parsers import command_parsers


def exit_of(main, argv, capsys):
    """(exit code, stderr) of a command that stops on its options."""
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code, capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--iterations", "abc"], "--iterations: expected a whole number, got 'abc'"),
    (["--batch-size", "1.5"], "--batch-size: expected a whole number, got '1.5'"),
    (["--iterations", "99999999999999999999"], "--iterations: 99999999999999999999 is too large (at most "),
    (["--seed", "-1"], "--seed: -1 is too small (at least 0)"),
])
def test_a_number_that_is_not_one_says_so(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = exit_of(cli.train_main, argv, capsys)
    assert code == 2 and message in err, err
    assert "9223372036854775808" not in err and "[-" not in err  # no type range for a word
    assert not (tmp_path / "runs").exists()


def test_threads_message_and_help_agree(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit):
        cli.train_main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "engine threads (0: all cores)" in help_text
    code, err = exit_of(cli.train_main, ["--threads", "-1"], capsys)
    assert code == 2 and "thread count must be >= 0 (0: all cores), got -1" in err


@pytest.mark.parametrize("main, argv, wrong", [
    (cli.train_main, ["--iteration", "300"], "--iteration"),
    (cli.train_main, ["--learning", "1e-3"], "--learning"),
    (cli.main, ["train", "--iter", "300"], "--iter"),
    (cli.main, ["evaluate", "--params", "x.protobuf", "--lim", "5"], "--lim"),
    (cli.main, ["data", "fetch", "--data", "d"], "--data"),
])
def test_abbreviated_options_are_refused(main, argv, wrong, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = exit_of(main, argv, capsys)
    assert code == 2 and f"unrecognized arguments: {wrong}" in err, err
    assert not (tmp_path / "runs").exists()


def test_every_option_has_help_text():
    found = command_parsers()
    assert {"nnvae train", "nnvae evaluate", "nnvae generate", "nnvae data fetch", "nnvae-train"} <= set(found)
    bare = [f"{name} {'/'.join(a.option_strings)}" for name, p in found.items() for a in p._actions
            if a.option_strings and not a.help]
    assert bare == []
    assert all(not p.allow_abbrev for p in found.values())
