"""Colour hints in the web app, as a person gives them: a real headless Chromium uploads a
photo, clicks it to drop a colour point, and downloads the full-size result, whose pixel there
must have the point's colour at the photo's own lightness."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from skimage import data

from colorizer.app.guided import DEFAULT_COLOUR
from colorizer.color import rgb_to_lab
from colorizer.inference.full_resolution import encode_lab, image_lightness
from tests.app.test_browser import _wait_for, browser  # noqa: F401 - the fixture


@pytest.mark.timeout(600)
def test_drop_a_point_and_download_its_colour(running_app, browser, tmp_path):  # noqa: F811
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    gray = (data.astronaut()[::2, ::2] @ [0.299, 0.587, 0.114]).round().astype(np.uint8)
    photo = tmp_path / "portrait.png"
    Image.fromarray(gray).save(photo)

    browser.get(running_app.url)
    upload = _wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, "#hints-photo input[type=file]"), "the hints section")
    upload[0].send_keys(str(photo))
    image = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#hints-photo img"),
                      "the uploaded photo")[0]
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", image)
    # A click a quarter of the way in from the top-left corner.
    ActionChains(browser).move_to_element_with_offset(
        image, -image.size["width"] // 4, -image.size["height"] // 4).click().perform()

    def points():
        text = browser.find_element(By.CSS_SELECTOR, "#hints-points textarea").get_attribute(
            "value")
        return json.loads(text)["points"] if text else []

    [point] = _wait_for(points, "the colour point")
    assert point["color"] == DEFAULT_COLOUR
    x, y = point["x"], point["y"]
    assert 40 <= x <= 90 and 40 <= y <= 90, point  # where it was clicked, in photo pixels
    _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#hints-preview img[src]"),
              "the preview")

    browser.find_element(By.ID, "hints-full").click()
    link = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR,
                                                   "#hints-download a[download]"),
                     "the full-size result")[0]
    link.click()
    saved = _wait_for(lambda: [p for p in browser.downloads.iterdir() if p.suffix == ".png"],
                      "the download", timeout=60)
    with Image.open(saved[0]) as result:
        colour = np.asarray(result.convert("RGB"))
    assert colour.shape[:2] == gray.shape
    hint = np.array([int(DEFAULT_COLOUR[i:i + 2], 16) for i in (1, 3, 5)], np.float32) / 255
    ab = np.asarray(rgb_to_lab(hint), np.float32)[1:].reshape(1, 1, 2)
    expected = encode_lab(image_lightness(gray)[y:y + 1, x:x + 1], ab)[0, 0]
    np.testing.assert_array_equal(colour[y, x], expected)
