"""The commands on a real terminal, for the tests of what a user sees there:
`python -m nnvae.app.cli ARGS` runs on a pseudo-terminal of a given size,
everything it writes is collected, and Ctrl-C can be given once some text
has appeared; `emulate` replays the output through a terminal emulator
(pyte) to get the screen and scrollback a user would have."""
import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

ROWS = 24


def run_in_terminal(args, cwd, columns, ctrl_c_after=None, typed=False):
    """(exit code, everything written) of `python -m nnvae.app.cli ARGS` with
    stdin, stdout and stderr on a pseudo-terminal of `columns` x ROWS.

    With `ctrl_c_after`, Ctrl-C once that text has been written: typed on the
    terminal (`typed`: the pty is then the program's controlling terminal,
    which turns ^C into SIGINT and echoes it) or sent as SIGINT. The program
    gets Ctrl-C as a foreground program does, whatever the test runner
    inherited (a shell's background job has SIGINT ignored)."""
    import nnvae

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, columns, 0, 0))
    env = dict(os.environ, COLUMNS=str(columns), LINES=str(ROWS), TERM="xterm")
    env["PYTHONPATH"] = str(Path(nnvae.__file__).parents[1]) + os.pathsep + env.get("PYTHONPATH", "")

    def start():
        if typed:  # a session of its own, with the pty as its controlling terminal
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    proc = subprocess.Popen([sys.executable, "-m", "nnvae.app.cli", *map(str, args)], stdin=slave, stdout=slave,
                            stderr=slave, env=env, cwd=cwd, close_fds=True, preexec_fn=start)
    os.close(slave)
    data, given, deadline = b"", False, time.monotonic() + 300
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:  # EIO: the last writer has closed the terminal
                    break
                if not chunk:
                    break
                data += chunk
                if ctrl_c_after and not given and ctrl_c_after.encode() in data:
                    if typed:
                        os.write(master, b"\x03")  # the terminal sends SIGINT to the process
                    else:
                        proc.send_signal(signal.SIGINT)
                    given = True
            elif proc.poll() is not None:
                break
    finally:
        os.close(master)
    if ctrl_c_after:
        assert given, f"{ctrl_c_after!r} never appeared: {data[-2000:]!r}"
    return proc.wait(timeout=60), data.decode("utf-8", "replace")


def emulate(text, columns):
    """The lines of the scrollback and the screen after `text`, as a terminal
    of `columns` x ROWS shows them (trailing blanks dropped)."""
    import pyte

    screen = pyte.HistoryScreen(columns, ROWS, history=100000)
    pyte.Stream(screen).feed(text)
    history = ["".join(line[x].data for x in range(columns)) for line in screen.history.top]
    lines = [l.rstrip() for l in history + list(screen.display)]
    while lines and not lines[-1]:
        lines.pop()
    return lines


class RecordingStream:
    """A stream that keeps what is written to it in .text, has no file
    descriptor, and says it is a terminal when `tty` is true."""

    def __init__(self, tty=False):
        self.text = ""
        self.tty = tty

    def write(self, s):
        self.text += s

    def flush(self):
        pass

    def isatty(self):
        return self.tty

    def fileno(self):
        raise OSError("no file descriptor")
