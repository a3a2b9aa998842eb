import json

import keras
import numpy as np
import pytest

from colorizer.data.config import AugmentConfig
from colorizer.data.pipeline import make_dataset
from colorizer.gamut import load_gamut_bins
from colorizer.model.config import ModelConfig
from colorizer.model.network import DECODE_LAYER, load_colorizer
from colorizer.training.config import TrainConfig
from colorizer.training.temperature import TEMPERATURES, pick_temperature, temperature_table
from colorizer.training.train import train


def _row(temperature, rmse, psnr):
    return {"temperature": temperature, "ab_rmse": rmse, "psnr": psnr,
            "gray_ab_rmse": 10.0, "gray_psnr": 30.0}


def test_the_most_vivid_temperature_that_beats_gray_wins():
    table = [_row(0.2, 11.0, 31.0),  # worse RMSE than gray
             _row(0.38, 9.5, 29.0),  # worse PSNR than gray
             _row(0.55, 9.0, 30.5),  # the first that beats gray on both
             _row(1.0, 8.0, 31.0)]
    assert pick_temperature(table) == 0.55
    # None beats gray: the one of the lowest ab RMSE is kept, whichever it is.
    assert pick_temperature([_row(0.2, 12.0, 28.0), _row(1.0, 11.0, 29.0)]) == 1.0
    assert pick_temperature([_row(0.3, 10.5, 28.0), _row(1.0, 11.0, 29.0)]) == 0.3


def _temperature(model):
    return float(keras.ops.convert_to_numpy(model.get_layer(DECODE_LAYER).temperature))


def test_training_chooses_and_saves_the_temperature(image_folder, tmp_path):
    train_data = make_dataset(image_folder, batch_size=2, image_size=32, training=True,
                              augment=AugmentConfig.none(), seed=1)
    val_data = make_dataset(image_folder, batch_size=2, image_size=32)
    bins = len(load_gamut_bins())
    run = tmp_path / "run"
    result = train(train_data, run, val_data=val_data, verbose=0,
                   model_config=ModelConfig(weights=None, head="classification"),
                   train_config=TrainConfig(epochs=1, tune_colour=True),
                   ab_distribution=np.full(bins, 1 / bins))
    chosen = json.loads((run / "colour_tuning.json").read_text())
    assert set(chosen) == {"model.keras", "best.keras"}
    for name, choice in chosen.items():
        assert [row["temperature"] for row in choice["table"]] == list(TEMPERATURES)
        assert choice["temperature"] == pick_temperature(choice["table"])
        assert _temperature(load_colorizer(str(run / name))) == pytest.approx(
            choice["temperature"])
    assert _temperature(result.model) == pytest.approx(chosen["model.keras"]["temperature"])
    # The table measured gray on the validation photos: ab RMSE of ab = 0 is the mean of
    # each photo's RMS ab.
    truth = [np.sqrt(np.mean(np.sum(np.asarray(ab, np.float64) ** 2, -1), axis=(1, 2)))
             for _, ab in val_data]
    table = temperature_table(result.model, val_data, temperatures=(0.5,))
    assert table[0]["gray_ab_rmse"] == pytest.approx(np.mean(np.concatenate(truth)))
    assert table[0]["images"] == 4
    # Measuring left the model's own temperature as it was.
    assert _temperature(result.model) == pytest.approx(chosen["model.keras"]["temperature"])
