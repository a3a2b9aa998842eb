"""A running web app for the tests of this folder: a small untrained model, served on
127.0.0.1 at a free port, closed (and its files deleted) at the end of the session."""
from __future__ import annotations

import socket

import keras
import pytest

from colorizer.fileio import save_model
from colorizer.model.network import build_colorizer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def toned_down_model(**build_kwargs) -> keras.Model:
    """An untrained colorizer, seeded, with its colours toned down: random weights can paint
    colours so strong that clipping them to sRGB changes L, which the L checks must not see."""
    keras.utils.set_random_seed(6)
    model = build_colorizer(weights=None, **build_kwargs)
    if "ab_conv" in {layer.name for layer in model.layers}:
        kernel, bias = model.get_layer("ab_conv").get_weights()
        model.get_layer("ab_conv").set_weights([kernel * 0.25, bias * 0.25])
    return model


@pytest.fixture(scope="session")
def model() -> keras.Model:
    return toned_down_model()


@pytest.fixture(scope="session")
def model_file(model, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("app-model") / "model.keras"
    save_model(model, path)
    return str(path)


@pytest.fixture(scope="session")
def running_app(model_file):
    """The app as `colorizer app --model FILE` starts it, from the saved file."""
    from colorizer.app import launch

    app = launch(model_file, host="127.0.0.1", port=free_port(), block=False, quiet=True)
    yield app
    app.close()
