"""The tutorial's VAE, trained end to end: the driver behind `nnvae-train`,
and the trained model behind `nnvae evaluate` / `nnvae generate`.

    from nnvae.app.training import TrainOptions, run_training, load_model
    metrics = run_training(TrainOptions.of(iterations=3000, data_dir="data"))
    model = load_model("runs/X/parameters.protobuf")
    model.negative_elbo(test_images)

The training loop itself is C++ (`VaeTrainer`); its settings, their defaults
and their checks are `VaeConfig`'s. This package gives the loop a run folder
and everything around it:

    RUN/log.txt              the monitor lines (`iter: 9, tloss: ..., vloss: ...`)
    RUN/losses.csv           iteration, train_loss, val_loss
    RUN/checkpoint.nnvckpt   parameters, Adam state, iteration, shuffle order,
                             generator states and the loss history (--resume)
    RUN/parameters.protobuf  NNabla's parameter file (and parameters.h5 with h5py)
    RUN/metrics.json         the full-test-set negative ELBO and run facts
    RUN/samples.png          an 8x8 grid decoded from z ~ N(0, I)
    RUN/reconstructions.png  test digits above their reconstructions
    RUN/loss.png             training and validation curves

Modules: prepare (options, settings), run_folder (the folder, its lock), loop (the training loop,
Ctrl-C, resume), finish (evaluation, parameter files, pictures, metrics),
checkpoint, progress (the terminal progress bar), model (trained models),
run (the three steps in order).
"""
from .checkpoint import CHECKPOINT_NAME, load_training_checkpoint, save_training_checkpoint
from .finish import PARAMS_H5_NAME, PARAMS_NAME, save_parameter_files, save_pictures
from .loop import TrainingInterrupted
from .model import EVAL_SEED, VaeModel, load_model, parameter_shapes
from .prepare import DEFAULT_DATASET, TrainOptions, config_fields
from .progress import ProgressBar
from .run import run_training
from .run_folder import claim_run_folder, new_run_folder, prepare_folder

__all__ = [
    "CHECKPOINT_NAME", "DEFAULT_DATASET", "EVAL_SEED", "PARAMS_H5_NAME", "PARAMS_NAME", "ProgressBar", "TrainOptions",
    "TrainingInterrupted", "VaeModel", "claim_run_folder", "config_fields", "load_model", "load_training_checkpoint",
    "new_run_folder", "parameter_shapes", "prepare_folder", "run_training", "save_parameter_files", "save_pictures",
    "save_training_checkpoint",
]
