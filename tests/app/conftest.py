"""A running web app for the tests of this folder: a small untrained model, served on
127.0.0.1 at a free port, closed (and its files deleted) at the end of the session."""
from __future__ import annotations

import random
import socket

import keras
import pytest

from colorizer.fileio import save_model
from colorizer.model.network import build_colorizer
from tests.loopback import LoopbackServer


_PORTS = random.SystemRandom()  # not the global generator: the tests seed that one alike


def free_port() -> int:
    """A port free now, below the kernel's ephemeral range (32768 up on Linux): a port from
    that range can be taken, between this probe and the server's bind, by any outgoing
    connection of a test running beside this one (a browser opens dozens)."""
    while True:
        port = _PORTS.randrange(20000, 32000)
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


def launch_on_a_free_port(*args, **kwargs):
    """``launch`` on :func:`free_port`, with a fresh port should another process take that
    one first (the error says the port is taken; a second try settles it)."""
    from colorizer.app import launch
    from colorizer.errors import ColorizerError

    for attempt in range(3):
        try:
            return launch(*args, port=free_port(), **kwargs)
        except ColorizerError as error:
            if "port is taken" not in str(error) or attempt == 2:
                raise


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
def photo_host():
    """A server on 127.0.0.1 that the running app treats as a public site: the app refuses
    every other address inside the network, as it would for any visitor."""
    server = LoopbackServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def running_app(model_file, photo_host):
    """The app as `colorizer app --model FILE` starts it, from the saved file, except that
    links may reach ``photo_host``."""
    app = launch_on_a_free_port(model_file, host="127.0.0.1", block=False, quiet=True,
                                allow_internal=(photo_host.address,))
    yield app
    app.close()


@pytest.fixture(scope="module")
def bounded_app(model):
    """An app with small bounds, for the tests of its refusals: films up to half a second
    (30 frames at 60 a second), photos and film frames up to 0.1 MP.

    Module-scoped, and used by the last tests of a module: while two apps run in one process,
    Gradio checks uploads against the newer one's folder (``GRADIO_TEMP_DIR`` is the
    process's), so ``running_app`` must not be used again until this one has closed."""
    app = launch_on_a_free_port(model, host="127.0.0.1", block=False, quiet=True,
                                max_pixels=100_000, max_film_seconds=0.5)
    yield app
    app.close()
