"""The NNabla 1.39.0 interpreter every comparison test talks to (nnabla_env.py)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nnabla_env  # noqa: E402


@pytest.fixture(scope="session")
def nnabla_python():
    python, reason = nnabla_env.ensure()
    if python is None:
        pytest.skip(f"NNabla comparison skipped: {reason}")
    return python
