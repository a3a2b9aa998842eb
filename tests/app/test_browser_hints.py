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


def pick_colour(browser, css_rgb: str) -> None:
    """Chooses a colour with the page's own colour picker, as a person does: opens it, picks
    its RGB mode, types the colour into its text field and clicks beside the picker to close
    it (Gradio 6's picker stays open after a click on its swatch)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    picker = browser.find_element(By.ID, "hints-colour")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", picker)
    picker.find_element(By.CSS_SELECTOR, "button.dialog-button").click()
    modes = _wait_for(lambda: picker.find_elements(By.CSS_SELECTOR, ".buttons button"),
                      "the colour picker")
    [rgb_mode] = [button for button in modes if button.text.strip() == "RGB"]
    rgb_mode.click()
    field = picker.find_element(By.CSS_SELECTOR, ".input-wrap input[type=text]")
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(css_rgb, Keys.TAB)  # the field takes the colour when it loses focus
    browser.find_element(By.CSS_SELECTOR, "#hints-status").click()  # beside the picker
    _wait_for(lambda: not picker.find_elements(By.CSS_SELECTOR, ".color-picker"),
              "the picker to close")
    shown = picker.find_element(By.CSS_SELECTOR, "button.dialog-button").get_attribute("style")
    assert css_rgb in shown, shown


@pytest.mark.timeout(600)
def test_a_colour_from_the_picker_colours_the_point(running_app, browser,  # noqa: F811
                                                    tmp_path):
    """The colour picked in the page's picker is the point's colour, in the hints JSON and
    in the downloaded result's pixel. (Gradio 6's picker sends #rrggbb even in its RGB mode;
    the rgb() and rgba() forms are tested without a browser, in test_guided_app.py.)"""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    gray = (data.camera()[::4, ::4]).astype(np.uint8)  # 128 x 128
    photo = tmp_path / "camera.png"
    Image.fromarray(gray).save(photo)
    browser.get(running_app.url)
    upload = _wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, "#hints-photo input[type=file]"), "the hints section")
    upload[0].send_keys(str(photo))
    image = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#hints-photo img"),
                      "the uploaded photo")[0]
    pick_colour(browser, "rgb(42, 111, 192)")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", image)
    ActionChains(browser).move_to_element(image).click().perform()  # the middle

    def points():
        text = browser.find_element(By.CSS_SELECTOR, "#hints-points textarea").get_attribute(
            "value")
        return json.loads(text)["points"] if text else []

    [point] = _wait_for(points, "the colour point")
    status = browser.find_element(By.ID, "hints-status").text
    assert point["color"] == "#2a6fc0", (point, status)
    x, y = point["x"], point["y"]
    assert 50 <= x <= 78 and 50 <= y <= 78, point

    browser.find_element(By.ID, "hints-full").click()
    link = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR,
                                                   "#hints-download a[download]"),
                     "the full-size result")[0]
    link.click()
    saved = _wait_for(lambda: [p for p in browser.downloads.iterdir() if p.suffix == ".png"],
                      "the download", timeout=60)
    with Image.open(saved[0]) as result:
        colour = np.asarray(result.convert("RGB"))
    hint = np.array([42, 111, 192], np.float32) / 255
    ab = np.asarray(rgb_to_lab(hint), np.float32)[1:].reshape(1, 1, 2)
    expected = encode_lab(image_lightness(gray)[y:y + 1, x:x + 1], ab)[0, 0]
    np.testing.assert_array_equal(colour[y, x], expected)
