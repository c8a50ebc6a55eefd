"""`nnvae train` / `nnvae-train`: train the tutorial's VAE.

    nnvae-train                                  # 60,000 iterations into runs/<time>
    nnvae-train --iterations 3000 --data-dir D   # D/mnist, or D itself, holds the MNIST files
    nnvae-train --resume runs/X/checkpoint.nnvckpt

Prints the run folder first, then the tutorial's monitor lines
(`iter: 9, tloss: 503.848297, vloss: 405.502197`), and at the end the
negative ELBO of the whole test set. See nnvae.app.training for the files.

The model's and the loop's options (--iterations, --batch-size, ...) are
VaeConfig's fields: their names, help, defaults and checks come from there.
"""
import argparse
import sys

from .. import training
from ..data.locate import DATA_DIR_HELP


def configure(p: argparse.ArgumentParser) -> None:
    p.set_defaults(train_prog=p.prog.split()[0])  # "nnvae" or "nnvae-train", as the errors name it
    length = p.add_mutually_exclusive_group()
    for f in training.config_fields():
        group = length if f["name"] == "iterations" else p
        group.add_argument(f"--{f['flag']}", dest=f["name"], metavar=f["metavar"],
                           help=f"{f['help']} (default {f['default_text']})".replace("%", "%%"))
    length.add_argument("--epochs", type=int, metavar="E",
                        help="training length in epochs of floor(N / batch size) steps")
    p.add_argument("--data-dir", metavar="D", help=DATA_DIR_HELP + "; missing files are fetched into it")
    p.add_argument("--dataset", metavar="NAME", help=f"mnist or fashion-mnist (default {training.DEFAULT_DATASET})")
    p.add_argument("--out", metavar="DIR", help="run folder (default: a new runs/<date-time>)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue exactly from a checkpoint (into its folder unless --out is given); one that "
                        "reaches --iterations already gets only its final phase (evaluation, files, pictures)")
    every = training.TrainOptions.checkpoint_every
    p.add_argument("--checkpoint-every", type=int, default=every, metavar="N",
                   help=f"iterations between checkpoints (default {every})")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the progress bar (default: on a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false", help="never show the progress bar")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print only the run folder and the result line (log.txt still gets every monitor line)")
    p.add_argument("--no-pictures", dest="pictures", action="store_false",
                   help="skip samples.png, reconstructions.png and loss.png")


def run(args) -> int:
    given = {f["name"]: getattr(args, f["name"]) for f in training.config_fields()}
    opts = training.TrainOptions(
        config={name: text for name, text in given.items() if text is not None},
        epochs=args.epochs, dataset=args.dataset, data_dir=args.data_dir, out=args.out, resume=args.resume,
        checkpoint_every=args.checkpoint_every, progress=args.progress, quiet=args.quiet,
        pictures=args.pictures)
    try:
        training.run_training(opts)
    except training.TrainingInterrupted as e:  # Ctrl-C: the one message, naming the checkpoint and the way on
        print(f"{args.train_prog}: {e}", file=sys.stderr, flush=True)
        return 130
    return 0
