"""Starting and stopping the web app: one model, one temporary folder, one request at a time.

Everything the app keeps (Gradio's copies of uploads, downloaded links, results, previews)
lives in one temporary folder: a background sweeper deletes each upload and request an hour
after it and keeps the folder under a size cap (:mod:`colorizer.app.sweeper`), and the whole
folder goes when the app closes. Gradio's queue runs one
colorization at a time, so two visitors never run the model at once on a small machine.

Example:
    >>> app = launch(model="runs/pets/best.keras", port=7860, block=False)
    >>> app.url
    'http://127.0.0.1:7860/'
    >>> app.close()
"""
from __future__ import annotations

import atexit
import dataclasses
import os
import shutil
import signal
import sys
import tempfile
import threading

from colorizer.app.jobs import LINK_DEADLINE_S, MAX_FILM_SECONDS, MAX_PIXELS
from colorizer.app.sweeper import KEEP_SECONDS, MAX_BYTES, SWEEP_SECONDS, Sweeper
from colorizer.data.fetch import PUBLIC_ONLY
from colorizer.errors import ColorizerError

DEFAULT_HOST = "127.0.0.1"
MAX_UPLOAD = "200mb"
"""Largest file Gradio accepts in an upload (the same cap as a photo fetched from a link)."""
MAX_QUEUE = 32
"""Requests waiting at most; later ones are told the queue is full."""


@dataclasses.dataclass
class RunningApp:
    """A started app: where it listens, where it keeps its files, and how to stop it."""

    blocks: object
    url: str
    share_url: str | None
    work_dir: str
    _previous_temp: str | None = None
    closed: bool = False
    sweeper: Sweeper | None = None

    def close(self) -> None:
        """Stops the server and deletes every upload and result."""
        if self.closed:
            return
        self.closed = True
        if self.sweeper is not None:
            self.sweeper.stop()
        try:
            if self.blocks is not None:
                self.blocks.close()
        finally:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            _restore_env("GRADIO_TEMP_DIR", self._previous_temp)

    def wait(self) -> None:
        """Serves until interrupted (Ctrl+C or a termination signal), then closes."""
        _exit_on_sigterm()
        try:
            self.blocks.block_thread()
        finally:
            self.close()


def _exit_on_sigterm() -> None:
    """A plain `kill` must clean up too: SIGTERM becomes an exit that runs every `finally`."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))


def _restore_env(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def import_gradio():
    """Imports Gradio, or says how to install it."""
    # Gradio reports usage to its makers unless told not to; this app sends nothing anywhere.
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio
    except ImportError as error:
        raise ColorizerError('the web app needs Gradio: pip install "colorizer[app]"') from error
    return gradio


SERVER_START_WAIT_S = 60.0
"""How long the web server may take to start. Gradio gives up after 5 s, while its server
thread goes on starting; on a machine whose cores are busy (a training run beside it, a CI
worker) the start can take longer, and the app would fail with a misleading "port taken"."""


def patient_server_start() -> None:
    """Lets Gradio's server start on a busy machine and beside Jupyter's tools (idempotent).

    Gradio's private ``http_server.Server`` is adjusted here, in this one place:

    * ``run_in_thread``: Gradio has no setting for its start-up wait; when its own 5 s run out,
      the wrapper keeps waiting while the server thread is alive and not yet started. A server
      that cannot start (its port taken) ends its thread, and the error is raised at once.
    * ``run`` (uvicorn's, in the server thread): uvicorn hands ``asyncio.run`` a
      ``loop_factory``, and ``nest_asyncio`` (which Jupyter's client and many notebooks apply)
      replaces ``asyncio.run`` with one that takes none, so the thread died at once and the
      app failed as if its port were taken. The loop is run by an ``asyncio.Runner`` instead,
      the same thing ``asyncio.run`` does.
    """
    import asyncio
    import time

    from gradio import http_server

    original = http_server.Server.run_in_thread
    if getattr(original, "patient", False):
        return

    import uvicorn

    if hasattr(uvicorn.Config, "get_loop_factory"):  # the uvicorn releases that pass one
        def run(self, sockets=None):
            with asyncio.Runner(loop_factory=self.config.get_loop_factory()) as runner:
                return runner.run(self.serve(sockets=sockets))

        http_server.Server.run = run

    def run_in_thread(self):
        try:
            return original(self)
        except http_server.ServerFailedToStartError:
            deadline = time.monotonic() + SERVER_START_WAIT_S
            while time.monotonic() < deadline and self.thread.is_alive():
                if self.started:
                    return None
                time.sleep(0.01)
            raise

    run_in_thread.patient = True
    http_server.Server.run_in_thread = run_in_thread


def in_notebook() -> bool:
    """True inside Jupyter or Colab, where the app shows in the cell and must not block."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ != "TerminalInteractiveShell"


def launch(model, *, host: str = DEFAULT_HOST, port: int | None = None, share: bool = False,
           block: bool | None = None, max_pixels: int = MAX_PIXELS,
           timeout: float = LINK_DEADLINE_S, quiet: bool = False,
           allow_internal: tuple[tuple[str, int], ...] = (),
           keep_seconds: float = KEEP_SECONDS, max_temp_bytes: int = MAX_BYTES,
           sweep_seconds: float = SWEEP_SECONDS,
           max_film_seconds: float = MAX_FILM_SECONDS) -> RunningApp:
    """Starts the colorizer web app.

    Args:
        model: A ``.keras`` file, an exported one (``.onnx``, ``.tflite``, a SavedModel
            folder), or a loaded colorizer.
        host: The address to listen on; the default serves this machine only. ``0.0.0.0``
            opens it to the network.
        port: The port; ``None`` takes the first free one from 7860 up.
        share: Also open a temporary public link through Gradio's relay (needs internet).
        block: Serve until Ctrl+C, then close. Default: block, except in a notebook, where
            the app shows inline in the cell and the notebook stays usable.
        max_pixels: Photos, and films whose frames, have more pixels are refused with a
            message.
        timeout: Seconds a pasted link's whole download may take.
        quiet: Print nothing on start.
        allow_internal: ``(ip, port)`` pairs inside the network that pasted links may reach
            all the same; empty by default, and not settable from the page or the command
            line. Tests use it for their server on 127.0.0.1.
        keep_seconds: Uploads and results are deleted this long after their last change.
        max_temp_bytes: The temporary folder's size cap; the oldest entries go first.
        sweep_seconds: Seconds between two sweeps of the temporary folder.
        max_film_seconds: Longer films are refused with a message (the app colorizes one
            request at a time, so a long film would hold every visitor up).

    Returns:
        The :class:`RunningApp` (already closed if it blocked).
    """
    import_gradio()
    from colorizer.app.ui import build_app
    from colorizer.runtimes.network import load_colorizer

    blocking = block if block is not None else not in_notebook()
    if blocking:
        # From now on, before the page answers: a signal during start-up also cleans up.
        _exit_on_sigterm()
    if isinstance(model, (str, os.PathLike)):
        model = load_colorizer(model)
    work_dir = tempfile.mkdtemp(prefix="colorizer-app-")
    # Gradio keeps uploads, and copies of what handlers return, in GRADIO_TEMP_DIR: pointing it
    # into our folder keeps every file of the app in one place, deleted on close.
    app = RunningApp(None, "", None, work_dir, os.environ.get("GRADIO_TEMP_DIR"))
    os.environ["GRADIO_TEMP_DIR"] = work_dir
    atexit.register(app.close)  # at any exit from here on, even half-way through the start
    app.sweeper = Sweeper(work_dir, keep_seconds=keep_seconds, max_bytes=max_temp_bytes,
                          interval=sweep_seconds).start()
    try:
        policy = PUBLIC_ONLY.but(allow_internal=frozenset(
            (str(ip), int(port)) for ip, port in allow_internal))
        app.blocks = build_app(model, work_dir, max_pixels=max_pixels, timeout=timeout,
                               policy=policy, sweeper=app.sweeper,
                               max_film_seconds=max_film_seconds)
        app.blocks.queue(default_concurrency_limit=1, max_size=MAX_QUEUE)
        patient_server_start()
        _, app.url, app.share_url = app.blocks.launch(
            server_name=host, server_port=port, share=share, prevent_thread_lock=True,
            quiet=quiet, show_error=False, ssr_mode=False, max_file_size=MAX_UPLOAD,
            mcp_server=False, inline=in_notebook())
    except BaseException as error:
        app.close()
        if isinstance(error, OSError):  # Gradio's own message names its environment variable
            where = f"{host}:{port}" if port else f"{host} (ports 7860-7959)"
            raise ColorizerError(f"cannot serve on {where}: the port is taken or the address is "
                                 "not this machine's; choose another with --port") from error
        raise
    if blocking:
        app.wait()
    return app
