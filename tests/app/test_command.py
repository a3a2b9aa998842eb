"""`colorizer app` on the command line: it serves the page, stops cleanly on a signal and
leaves no files behind; without Gradio it says how to install it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from colorizer.cli import main
from tests.app.conftest import free_port


def test_serves_until_stopped_and_leaves_nothing_behind(model_file, tmp_path):
    port = free_port()
    temp = tmp_path / "tmp"
    temp.mkdir()
    environment = dict(os.environ, TMPDIR=str(temp))
    environment.pop("GRADIO_TEMP_DIR", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "colorizer", "app", "--model", model_file, "--port", str(port)],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    assert page.status == 200 and b"colorizer" in page.read()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read()
                assert time.monotonic() < deadline, "the app did not start within 120 s"
                time.sleep(0.5)
        assert [p.name for p in temp.iterdir() if p.name.startswith("colorizer-app-")]
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
    assert server.returncode == 0, output
    assert "Traceback" not in output
    assert not [p.name for p in temp.iterdir() if p.name.startswith("colorizer-app-")]


def test_without_gradio_says_how_to_install_it(monkeypatch, model_file, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio now fails
    assert main(["app", "--model", model_file]) == 1
    err = capsys.readouterr().err
    assert 'the web app needs Gradio: pip install "colorizer[app]"' in err
    assert "Traceback" not in err


def test_help_does_not_load_gradio():
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; from colorizer.cli import main\n"
         "try:\n    main(['app', '--help'])\nexcept SystemExit:\n    pass\n"
         "print('gradio' in sys.modules, 'tensorflow' in sys.modules)"],
        capture_output=True, text=True, timeout=120)
    assert "--max-megapixels" in probe.stdout and "--share" in probe.stdout
    assert probe.stdout.strip().endswith("False False")


def test_a_taken_port_is_one_clear_line(model_file, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["app", "--model", model_file, "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"cannot serve on 127.0.0.1:{port}: the port is taken" in err and "--port" in err
    assert "Traceback" not in err


def test_a_server_slower_than_gradios_five_seconds_still_starts():
    """A real uvicorn server under Gradio's Server class whose start-up takes 6 s (as on a
    machine with busy cores) starts, instead of failing as if its port were taken."""
    import asyncio
    import socket
    import time

    import uvicorn
    from gradio import http_server

    from colorizer.app.server import patient_server_start

    async def slow_app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            await asyncio.sleep(6)
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    patient_server_start()
    patient_server_start()  # twice: still one wrapper
    assert http_server.Server.run_in_thread.patient
    server = http_server.Server(uvicorn.Config(slow_app, host="127.0.0.1", port=port,
                                               lifespan="on", log_level="warning"))
    started = time.monotonic()
    server.run_in_thread()
    try:
        assert server.started and time.monotonic() - started > 5
    finally:
        server.should_exit = True
        server.thread.join(10)


def test_the_app_starts_after_a_notebook_applied_nest_asyncio(model_file):
    """Jupyter's client and many notebooks apply nest_asyncio, whose asyncio.run takes no
    loop_factory (uvicorn passes one): the app still starts and answers."""
    probe = subprocess.run(
        [sys.executable, "-c", "import asyncio, urllib.request\n"
         "import nest_asyncio\n"
         "nest_asyncio.apply(asyncio.new_event_loop())\n"
         "from colorizer.app import launch\n"
         f"app = launch({model_file!r}, port={free_port()}, block=False, quiet=True)\n"
         "with urllib.request.urlopen(app.url, timeout=30) as page:\n"
         "    print(page.status, b'colorizer' in page.read())\n"
         "app.close()\n"],
        capture_output=True, text=True, timeout=300)
    assert probe.returncode == 0, probe.stderr[-3000:]
    assert "200 True" in probe.stdout.splitlines()
