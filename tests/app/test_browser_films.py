"""Films and the app's bounds in a real browser: a headless Chromium uploads a film with sound
and a photo together, presses Colorize, gets both downloads and downloads the film, which must
play (its frames, size and sound); a photo over the app's pixel cap in the colour-hints
section gets a message in the page. (Chromium as in ``test_browser.py``.)"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage import data

from tests.app.test_browser import _wait_for, browser  # noqa: F401 - the fixture
from tests.app.test_films_app import FILM_FRAMES, check_film_plays, make_film


@pytest.mark.timeout(600)
def test_a_film_and_a_photo_together_in_a_real_browser(running_app, browser,  # noqa: F811
                                                        tmp_path):
    from selenium.webdriver.common.by import By

    film = make_film(tmp_path / "clip.mp4", tone_seconds=1.0)
    photo = tmp_path / "p.png"
    Image.fromarray(data.camera()[::4, ::4]).save(photo)

    browser.get(running_app.url)
    upload = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR,
                                                     "#photos input[type=file]"), "the page")
    upload[0].send_keys(f"{film}\n{photo}")
    _wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, "#photos td.filename[aria-label='p.png']"), "the upload")
    browser.find_element(By.ID, "colorize").click()
    links = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#downloads a[download]"),
                      "the result")
    status = browser.find_element(By.ID, "status").text
    assert "Colorized 2 of 2" in status, status
    assert [a.get_attribute("download") for a in links] == ["clip.mp4", "p.png",
                                                           "colorized.zip"]
    # The slider shows the film's first frame, before and after.
    slider = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#compare img[src]"),
                       "the before/after slider")
    assert len(slider) == 2

    links[0].click()
    saved = _wait_for(lambda: [p for p in browser.downloads.iterdir() if p.suffix == ".mp4"],
                      "the film's download", timeout=60)
    assert [p.name for p in saved] == ["clip.mp4"]
    check_film_plays(str(saved[0]), frames=FILM_FRAMES, sound=True)


@pytest.mark.timeout(600)
def test_a_photo_over_the_cap_gets_a_message_in_the_hints_section(bounded_app,
                                                                  browser,  # noqa: F811
                                                                  tmp_path):
    from selenium.webdriver.common.by import By

    photo = tmp_path / "big.png"  # 400 x 300: 0.12 MP, over the app's 0.1 MP
    Image.fromarray(np.full((300, 400), 128, np.uint8)).save(photo)
    browser.get(bounded_app.url)
    upload = _wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, "#hints-photo input[type=file]"), "the hints section")
    upload[0].send_keys(str(photo))
    expected = "big.png: too large: 400 x 300 pixels (0.1 MP); the app takes photos up to 0.1 MP"
    _wait_for(lambda: [e for e in browser.find_elements(By.ID, "hints-status")
                       if e.text.strip() == expected], "the message")
    assert not browser.find_elements(By.CSS_SELECTOR, "#hints-preview img[src]")
