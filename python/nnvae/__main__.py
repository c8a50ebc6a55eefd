"""`python -m nnvae`: the `nnvae` command."""
import sys

from .cli import main

sys.exit(main())
