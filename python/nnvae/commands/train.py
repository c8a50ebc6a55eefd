"""`nnvae train` / `nnvae-train`: train the tutorial's VAE (SPEC §2).

    nnvae-train                                  # 60,000 iterations into runs/<time>
    nnvae-train --iterations 3000 --data-dir D   # D/mnist holds the MNIST files
    nnvae-train --resume runs/X/checkpoint.nnvckpt

Prints the run folder first, then the tutorial's monitor lines
(`iter: 9, tloss: 503.848297, vloss: 405.502197`), and at the end the
negative ELBO of the whole test set. See nnvae.training for the files.
"""
import argparse

from .. import training


def _float(text):
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def configure(p: argparse.ArgumentParser) -> None:
    d = training.DEFAULTS
    length = p.add_mutually_exclusive_group()
    length.add_argument("--iterations", type=int, metavar="N",
                        help=f"training steps (default {d['iterations']})")
    length.add_argument("--epochs", type=int, metavar="E",
                        help="training length in epochs of floor(N / batch size) steps")
    p.add_argument("--batch-size", type=int, metavar="B", help=f"images per step (default {d['batch_size']})")
    p.add_argument("--learning-rate", type=_float, metavar="LR",
                   help=f"Adam's alpha (default {d['learning_rate']})")
    p.add_argument("--seed", type=int, metavar="S",
                   help=f"initial parameters, shuffling and noise (default {d['seed']})")
    p.add_argument("--data-dir", metavar="D",
                   help="root folder holding mnist/ and fashion-mnist/ (default: $NNVAE_DATA, else "
                        "~/.cache/nnvae); missing files are fetched")
    p.add_argument("--dataset", metavar="NAME", help="mnist (default) or fashion-mnist")
    p.add_argument("--out", metavar="DIR", help="run folder (default: a new runs/<date-time>)")
    p.add_argument("--resume", metavar="CHECKPOINT",
                   help="continue exactly from a checkpoint (into its folder unless --out is given)")
    p.add_argument("--threads", type=int, metavar="T", help="engine threads (default: all cores)")
    p.add_argument("--graph", default="static", metavar="MODE",
                   help="static (build once, default) or dynamic (rebuilt every step)")
    p.add_argument("--init", metavar="NAME",
                   help="initial parameters: fan-in (default; U(+-1/sqrt(n_in)) for W and b, as "
                        "PyTorch's nn.Linear) or glorot (the tutorial's pf::affine default, b = 0)")
    p.add_argument("--latent", type=int, metavar="L", help=f"latent size (default {d['latent']})")
    p.add_argument("--hidden", type=int, metavar="H", help=f"hidden layer size (default {d['hidden']})")
    p.add_argument("--monitor-interval", type=int, metavar="M",
                   help=f"iterations per monitor line (default {d['monitor_interval']})")
    p.add_argument("--checkpoint-every", type=int, default=1000, metavar="N",
                   help="iterations between checkpoints (default 1000)")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the progress bar (default: on a terminal)")
    bar.add_argument("--no-progress", dest="progress", action="store_false")
    p.add_argument("--no-pictures", dest="pictures", action="store_false",
                   help="skip samples.png, reconstructions.png and loss.png")


def run(args) -> int:
    opts = training.TrainOptions(
        iterations=args.iterations, epochs=args.epochs, batch_size=args.batch_size,
        learning_rate=args.learning_rate, seed=args.seed, latent=args.latent, hidden=args.hidden,
        monitor_interval=args.monitor_interval, dataset=args.dataset, graph=args.graph, init=args.init,
        threads=args.threads, data_dir=args.data_dir, out=args.out, resume=args.resume,
        checkpoint_every=args.checkpoint_every, progress=args.progress, pictures=args.pictures)
    training.run_training(opts)
    return 0
