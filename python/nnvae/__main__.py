"""`python -m nnvae`: the `nnvae` command."""
import sys

from .app.cli import main

sys.exit(main())
