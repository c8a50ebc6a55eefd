"""Runs in the NNabla venv: the function cases, the signature dump, through
NNabla. Talks to the test through files only.

    python worker.py functions JOB.json IN.npz OUT.npz   # writes OUT.npz and OUT.npz.json (errors)
                                                         # JOB: {"selected": [[name, i]...], "cases": {name: [case...]}}
    python worker.py has JOB.json OUT.json                # which F names NNabla has
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nnabla as nn  # noqa: E402
import nnabla.functions as F  # noqa: E402

import cases  # noqa: E402


def main(argv):
    if argv[0] == "functions":
        job, src, dst = argv[1:]
        with open(job) as f:
            work = json.load(f)
        selected = [tuple(x) for x in work["selected"]]
        with np.load(src) as data:
            inputs = {k: data[k] for k in data.files}
        arrays, errors = cases.run_all(nn, F, selected, inputs, work["cases"])
        np.savez(dst, **arrays)
        with open(dst + ".json", "w") as f:
            json.dump(errors, f)
    elif argv[0] == "has":
        job, dst = argv[1:]
        with open(dst, "w") as f:
            json.dump([name for name in json.load(open(job)) if hasattr(F, name)], f)
    else:
        raise SystemExit(f"worker.py: unknown command {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
