"""The application on nnvae's NNabla-style API: the NNabla tutorial's VAE.

    nnvae.app.training   the run: settings, loop, checkpoints, pictures, metrics
    nnvae.app.datasets   MNIST and Fashion-MNIST: find, fetch, check, load
    nnvae.app.cli        the `nnvae` and `nnvae-train` commands (nnvae.app.commands)

The API above it (nnvae, nnvae.functions, ...) never imports this package.
"""
