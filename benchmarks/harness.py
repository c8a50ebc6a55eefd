"""The benchmark's worker protocol and the machine it runs on.

Each side of a comparison (the engine, the PyTorch twin) runs in its own
long-lived process, so that both are warm and neither's threads disturb the
other. The driver talks to a worker over its stdin / stdout, one line each
way:

    worker -> driver   on start: one JSON object with "ready": true (and
                       whatever the worker wants to say about itself)
    driver -> worker   step B N      N training steps at batch B
                                     -> {"seconds": s, "loss": l}
                       (the C++ worker benchmarks/bench_step also answers
                       `profile B N` and `matmul B R [mean]`; a Python
                       worker may answer more words, serve's `commands`,
                       e.g. `memory`)
                       quit          (or end of input): the worker exits
    worker -> driver   one JSON object per command; {"error": "..."} when
                       the command failed, and the driver stops.

`Worker` is the driver's end; `serve` is the worker's end for workers
written in Python; benchmarks/bench_step.cpp speaks the same lines in C++.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path


class BenchError(RuntimeError):
    """A measurement that could not be made (a worker failed, a build failed)."""


class Worker:
    """The driver's end: a child process answering one JSON line per command."""

    def __init__(self, name, argv, env=None):
        self.name = name
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
                                     bufsize=1)
        self.hello = self._read()

    def _read(self):
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            raise BenchError(f"{self.name} worker exited (code {code}) without answering")
        reply = json.loads(line)
        if "error" in reply:
            raise BenchError(f"{self.name} worker: {reply['error']}")
        return reply

    def ask(self, command):
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self._read()

    def step(self, batch, steps):
        """Seconds taken by `steps` training steps at `batch` (warm-up excluded)."""
        return self.ask(f"step {batch} {steps}")["seconds"]

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def serve(hello, step, stdin=None, stdout=None, commands=None):
    """The worker's end, for a worker written in Python.

    hello: the "ready" object's other fields; step(batch, steps) -> (seconds,
    loss) or (seconds, loss, {more fields of the answer}) runs one warm-up
    step outside its timing, then `steps` timed ones. commands: {word:
    answer()} for other commands without arguments, answer() -> dict."""
    commands = commands or {}
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout

    def say(obj):
        stdout.write(json.dumps(obj) + "\n")
        stdout.flush()

    say({"ready": True, **hello})
    for line in stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        try:
            if len(words) == 1 and words[0] in commands:
                say(commands[words[0]]())
                continue
            if words[0] != "step" or len(words) != 3:
                known = "".join(f", {w!r}" for w in commands)
                raise ValueError(f"expected 'step B N'{known} or 'quit', got {line.strip()!r}")
            batch, steps = int(words[1]), int(words[2])
            if batch < 1 or steps < 1:
                raise ValueError(f"step B N: B and N must be >= 1, got {batch} and {steps}")
            seconds, loss, *more = step(batch, steps)
            say({"seconds": seconds, "loss": loss, **(more[0] if more else {})})
        except Exception as e:  # reported to the driver, which stops
            say({"error": f"{type(e).__name__}: {e}"})
    return 0


def thread_env(threads, omp=None):
    """The environment of a worker using `threads` threads, with the OpenMP
    waiting settings `omp` ({"OMP_WAIT_POLICY": ..., "GOMP_SPINCOUNT": ...})
    given to both sides alike."""
    env = dict(os.environ)
    env.update(omp or {})
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    return env


def python_worker(name, script, threads, omp=None, args=(), python=None):
    """A worker written in Python: benchmarks/<script> --threads T [args],
    run by `python` (default: this interpreter)."""
    path = Path(__file__).resolve().parent / script
    argv = [python or sys.executable, str(path), "--threads", str(threads), *args]
    return Worker(name, argv, env=thread_env(threads, omp))


def peak_rss_mb():
    """(peak, current) resident memory of this process in MB: VmHWM, the
    high-water mark of its own address space, and VmRSS; None where
    /proc/self/status is missing. (getrusage's ru_maxrss would not do: Linux
    carries the parent's high-water mark into a child across fork and exec.)"""
    found = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key = line.split(":", 1)[0]
                if key in ("VmHWM", "VmRSS"):
                    found[key] = int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return found.get("VmHWM"), found.get("VmRSS")


def machine_line():
    cpu = platform.processor() or "cpu"
    flags = []
    try:
        text = Path("/proc/cpuinfo").read_text()
        for line in text.splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        flags = [f for f in ("avx2", "avx512f") if f" {f} " in text]
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores ({'/'.join(flags) or 'no AVX2'}), Python {platform.python_version()}"


def busy_note():
    """A warning when the 1-minute load average is over half the cores: the
    two sides then compete with other work and the figures do not compare."""
    try:
        one = os.getloadavg()[0]
    except OSError:
        return None
    cores = os.cpu_count() or 1
    if one <= cores / 2:
        return None
    return (f"the machine is busy (load {one:.1f} on {cores} cores): these figures are not comparable; "
            f"take them on a quiet machine")


def load_line():
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f} / {five:.2f} / {fifteen:.2f} (1/5/15 min)"
    except OSError:
        return "load average unknown"
