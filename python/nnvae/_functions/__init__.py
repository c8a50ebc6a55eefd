"""The parts of nnvae.functions, by family; import them from nnvae.functions."""
