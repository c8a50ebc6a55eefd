"""Loads a batch of solver state files in this (sub)process, for
test_hostile_files.py.

Reads a JSON list of cases {"format": ".protobuf" or ".h5", "hex": the
file's bytes} on stdin; for each, writes the file and loads it into an Adam
solver over the parameters "w" (3,) and "enc/b" (2,). Prints one line per
case, flushed before the next one starts: "<index> ok", "<index> refused"
(a SolverStateError) or "<index> BAD <Type>: <message>" (any other
exception). A crash or a hang ends the batch; the parent names the first
case without a line. The address space is capped, so that a file declaring
a huge array cannot make the machine swap.
"""
import json
import os
import resource
import sys
import tempfile

resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

import numpy as np  # noqa: E402

import nnvae  # noqa: E402
import nnvae.solvers as S  # noqa: E402


def main():
    cases = json.load(sys.stdin)
    params = {"w": nnvae.Variable((3,), need_grad=True), "enc/b": nnvae.Variable((2,), need_grad=True)}
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases):
            path = os.path.join(tmp, f"states{i}{case['format']}")
            with open(path, "wb") as f:
                f.write(bytes.fromhex(case["hex"]))
            solver = S.Adam()
            solver.set_parameters(params)
            try:
                solver.load_states(path)
                line = "ok"
            except S.SolverStateError:
                line = "refused"
            except Exception as e:  # noqa: BLE001 - the finding
                line = f"BAD {type(e).__name__}: {' '.join(str(e).split())[:300]}"
            print(i, line, flush=True)
            os.unlink(path)


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
