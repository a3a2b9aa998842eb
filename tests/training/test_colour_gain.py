import json

import numpy as np
import pytest

from colorizer.data.config import AugmentConfig
from colorizer.data.pipeline import make_dataset
from colorizer.model.network import build_colorizer, load_colorizer, scale_colour
from colorizer.training.colour_gain import GAINS, gain_table, pick_gain
from colorizer.training.config import TrainConfig
from colorizer.training.train import train


def _row(gain, rmse, psnr):
    return {"gain": gain, "ab_rmse": rmse, "psnr": psnr, "gray_ab_rmse": 10.0,
            "gray_psnr": 30.0}


def test_the_largest_gain_that_keeps_half_the_lead_over_gray_wins():
    # Gain 1 leads gray by 2.0 in RMSE and 1.0 dB in PSNR: a gain may give back half of each.
    table = [_row(0.5, 9.0, 30.5), _row(1.0, 8.0, 31.0), _row(1.2, 8.6, 30.8),
             _row(1.4, 8.9, 30.6), _row(1.6, 9.2, 30.7), _row(1.8, 8.5, 30.4)]
    # 1.6 gives back too much RMSE (9.2 > 9.0), 1.8 too much PSNR (30.4 < 30.5).
    assert pick_gain(table) == 1.4
    assert pick_gain(table, keep=0.9) == 1.0  # a stricter rule keeps the model as trained


def test_a_model_that_does_not_beat_gray_is_toned_down_instead():
    table = [_row(0.25, 9.7, 30.1), _row(0.5, 9.6, 30.2), _row(1.0, 10.5, 29.5),
             _row(1.5, 12.0, 29.0)]
    assert pick_gain(table) == 0.5
    with pytest.raises(ValueError, match="gain 1.0"):
        pick_gain([_row(0.5, 9.0, 31.0)])


def test_a_scaled_colorizer_predicts_the_scaled_colour(tmp_path):
    model = build_colorizer(weights=None)
    lightness = np.random.default_rng(0).uniform(0, 100, (2, 32, 32, 1)).astype(np.float32)
    vivid = scale_colour(model, 1.5)
    np.testing.assert_allclose(vivid.predict_on_batch(lightness),
                               1.5 * model.predict_on_batch(lightness), rtol=1e-4, atol=1e-4)
    # The factor travels with the saved file.
    vivid.save(tmp_path / "vivid.keras")
    np.testing.assert_allclose(load_colorizer(str(tmp_path / "vivid.keras")).predict_on_batch(
        lightness), vivid.predict_on_batch(lightness), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="positive"):
        scale_colour(model, 0.0)


def test_training_tunes_the_colour_gain_of_both_saved_models(image_folder, tmp_path):
    train_data = make_dataset(image_folder, batch_size=2, image_size=32, training=True,
                              augment=AugmentConfig.none(), seed=1)
    val_data = make_dataset(image_folder, batch_size=2, image_size=32)
    run = tmp_path / "run"
    result = train(train_data, run, val_data=val_data, verbose=0,
                   train_config=TrainConfig(epochs=1, tune_colour=True),
                   model_config=_regression())
    chosen = json.loads((run / "colour_tuning.json").read_text())
    assert set(chosen) == {"model.keras", "best.keras"}
    for name, choice in chosen.items():
        assert [row["gain"] for row in choice["table"]] == list(GAINS)
        assert choice["gain"] == pick_gain(choice["table"])
    # The table's gain-1 row is the model as trained, measured directly: rebuild the untuned
    # model from the saved one and compare its error with the table's.
    gain = chosen["model.keras"]["gain"]
    saved = load_colorizer(str(run / "model.keras"))
    plain = scale_colour(saved, 1.0 / gain)
    truth = np.concatenate([np.asarray(ab, np.float64) for _, ab in val_data])
    predicted = np.concatenate([plain.predict_on_batch(l) for l, _ in val_data])
    rmse = np.mean(np.sqrt(np.mean(np.sum((predicted - truth) ** 2, -1), axis=(1, 2))))
    unit = next(row for row in chosen["model.keras"]["table"] if row["gain"] == 1.0)
    assert unit["ab_rmse"] == pytest.approx(rmse, rel=1e-3)
    assert unit["gray_ab_rmse"] == pytest.approx(
        np.mean(np.sqrt(np.mean(np.sum(truth**2, -1), axis=(1, 2)))), rel=1e-6)
    # The returned model is the tuned model.keras.
    lightness = next(iter(val_data))[0]
    np.testing.assert_allclose(result.model.predict_on_batch(lightness),
                               saved.predict_on_batch(lightness), rtol=1e-4, atol=1e-4)
    table = gain_table(plain, val_data, gains=(1.0,))
    assert table[0]["images"] == 4 and table[0]["truth_chroma"] > 0


def _regression():
    from colorizer.model.config import ModelConfig

    return ModelConfig(weights=None, head="regression")
