"""Runs in the NNabla venv: the function cases, the signature dump, through
NNabla. Talks to the test through files only.

    python worker.py functions JOB.json IN.npz OUT.npz   # writes OUT.npz and OUT.npz.json (errors)
                                                         # JOB: {"selected": [[name, i]...], "cases": {name: [case...]}}
    python worker.py has JOB.json OUT.json                # which F names NNabla has
    python worker.py params JOB.json OUT.npz              # parameter files through nn.load_parameters
                                                         # JOB: {"files": [path...], "rewrite": [path...]};
                                                         # writes OUT.npz and OUT.npz.json
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nnabla as nn  # noqa: E402
import nnabla.functions as F  # noqa: E402

import cases  # noqa: E402


def read_parameter_files(files, rewrite):
    """Each file in `files` read alone by nn.load_parameters: arrays "i:k"
    (file i's k-th parameter, in the order nn.parameter.get_parameters gives
    them), and per file its names and need_grad flags, or the error; then
    what NNabla read written again by nn.save_parameters to rewrite[i]."""
    arrays, report = {}, []
    for i, (path, again) in enumerate(zip(files, rewrite)):
        nn.clear_parameters()
        try:
            nn.load_parameters(path)
            params = nn.parameter.get_parameters(grad_only=False)
            for k, v in enumerate(params.values()):
                arrays[f"{i}:{k}"] = np.array(v.d, dtype=np.float32)
            report.append({"names": list(params), "need_grad": [bool(v.need_grad) for v in params.values()]})
            nn.save_parameters(again, params)
        except Exception as e:  # reported per file, so the other files are still read
            report.append({"error": f"{type(e).__name__}: {e}"})
    nn.clear_parameters()
    return arrays, report


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
    elif argv[0] == "params":
        job, dst = argv[1:]
        with open(job) as f:
            work = json.load(f)
        arrays, report = read_parameter_files(work["files"], work["rewrite"])
        np.savez(dst, **arrays)
        with open(dst + ".json", "w") as f:
            json.dump(report, f)
    else:
        raise SystemExit(f"worker.py: unknown command {argv[0]!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
