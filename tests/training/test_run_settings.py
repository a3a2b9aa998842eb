"""Which settings a run folder is tied to: a table of cases, checked without training."""
import json

import pytest

from colorizer.training.run_settings import (
    RunSettingsError, check_run_settings, setting_differences)

STARTED = {"model": {"head": "regression", "decoder_filters": [128, 64, 32],
                     "weights": "imagenet"},
           "train": {"freeze_encoder_epochs": 2, "epochs": 40, "learning_rate": 1e-3},
           "data": {"image_size": 224, "batch_size": 32}}


def _changed(section, key, value):
    config = json.loads(json.dumps(STARTED))
    config[section][key] = value
    return config


@pytest.mark.parametrize("section, key, value, difference", [
    ("model", "head", "classification", "head regression -> classification"),
    ("model", "decoder_filters", [64, 32, 16], "decoder_filters [128, 64, 32] -> [64, 32, 16]"),
    ("model", "weights", None, "weights imagenet -> None"),
    ("train", "freeze_encoder_epochs", 0, "freeze_encoder_epochs 2 -> 0"),
    ("data", "image_size", 128, "image_size 224 -> 128"),
    ("data", "batch_size", 16, "batch_size 32 -> 16"),
])
def test_a_fixed_setting_that_changes_is_named(section, key, value, difference):
    assert setting_differences(STARTED, _changed(section, key, value)) == [difference]


@pytest.mark.parametrize("section, key, value", [
    ("train", "epochs", 80),            # extend a run
    ("train", "learning_rate", 1e-4),   # lower the rate for the rest
    ("data", "batch_size", None),       # a dataset without static batch shapes
])
def test_settings_that_may_change_on_resume_pass(section, key, value):
    assert setting_differences(STARTED, _changed(section, key, value)) == []


def test_only_a_folder_that_holds_training_refuses(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(STARTED))
    other = _changed("model", "weights", "none")
    check_run_settings(str(tmp_path), other)  # configured, never trained: free to change
    (tmp_path / "history.csv").write_text("epoch,loss\n1,0.5\n")
    with pytest.raises(RunSettingsError, match=r"weights imagenet -> none.*new run name"):
        check_run_settings(str(tmp_path), other)


def test_where_augmentation_runs_is_fixed_and_older_runs_count_as_host():
    device = _changed("data", "augment_on", "device")
    host = _changed("data", "augment_on", "host")
    assert setting_differences(device, host) == ["augment_on device -> host"]
    # A folder written before the setting was recorded augmented on the CPU.
    assert setting_differences(STARTED, device) == ["augment_on host -> device"]
    assert setting_differences(STARTED, host) == []
