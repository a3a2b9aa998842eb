"""Notebook helpers: the runtime report and the results zip."""
import os
import stat
import zipfile

from colorizer.notebook import accelerators, runtime_report, zip_files


def test_runtime_report_names_the_gpu_or_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.delenv("COLAB_TPU_ADDR", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi: a CPU runtime
    report = runtime_report(needs="gpu")
    assert report.startswith("Expects: a GPU runtime (T4) or a TPU runtime (JAX)")
    assert "Has: no GPU; " in report and "T4 GPU" in report
    cpu = runtime_report(needs="cpu")
    assert cpu.startswith("Expects: a CPU runtime") and cpu.endswith("suits this notebook.")
    assert "CPU runtime is enough" not in cpu
    # nvidia-smi as a Colab T4 runtime prints it (-L lists one GPU per line).
    tool = tmp_path / "nvidia-smi"
    tool.write_text("#!/bin/sh\necho 'GPU 0: Tesla T4 (UUID: GPU-1234)'\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    assert accelerators()["gpu"] == ["GPU 0: Tesla T4"]
    assert "Has: GPU: GPU 0: Tesla T4; " in runtime_report(needs="gpu")
    assert runtime_report(needs="gpu").endswith("suits this notebook.")
    assert "CPU runtime is enough" in runtime_report(needs="cpu")
    monkeypatch.setenv("COLAB_TPU_ADDR", "10.0.0.2:8470")
    assert "TPU: COLAB_TPU_ADDR=10.0.0.2:8470" in runtime_report()


def test_zip_holds_the_given_files_under_their_relative_names(tmp_path):
    (tmp_path / "out" / "sub").mkdir(parents=True)
    files = [tmp_path / "out" / "a.jpg", tmp_path / "out" / "sub" / "b.png"]
    for i, path in enumerate(files):
        path.write_bytes(bytes([i]) * 100)
    (tmp_path / "out" / "old.jpg").write_bytes(b"an earlier batch")
    path = zip_files(map(str, files), str(tmp_path / "out"), str(tmp_path / "batch.zip"))
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["a.jpg", "sub/b.png"]
        assert archive.read("sub/b.png") == bytes([1]) * 100
    assert not os.path.exists(path + ".partial")
