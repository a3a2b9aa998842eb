"""The exported files of :mod:`tests.runtimes.exported_models`: made here with Keras, or read
from ``COLORIZER_EXPORTED_MODELS`` where this environment has no Keras (CI's runtime-only
environment, which made them in a step before)."""
from __future__ import annotations

import os

import pytest

from tests.runtimes.exported_models import existing, make_all


@pytest.fixture(scope="session")
def exported(tmp_path_factory) -> dict[str, str]:
    folder = os.environ.get("COLORIZER_EXPORTED_MODELS")
    if folder:
        return existing(folder)
    return make_all(str(tmp_path_factory.mktemp("exported")))
