"""The web app as a person uses it: a real headless Chromium opens the page, uploads a photo,
waits for the result, compares, downloads and takes a screenshot.

Chromium and its driver come from Debian (``apt-get install chromium chromium-driver``, which
``.ci/run`` does, setting ``COLORIZER_REQUIRE_BROWSER=1`` so that their absence fails there
rather than skips); nothing is downloaded by the test. Set ``COLORIZER_APP_SCREENSHOT`` to a
path to keep the screenshot (the README's comes from this test).
"""
from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pytest
from PIL import Image
from skimage import data
from skimage.color import rgb2lab

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WAIT_S = 180


@pytest.fixture()
def browser(tmp_path):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        message = "needs Debian's chromium and chromium-driver (apt-get install chromium " \
                  "chromium-driver)"
        # .ci/run installs them and says so: there their absence is a broken CI, not a skip.
        # (Not the CI variable: notebooks/conftest.py sets it for every pytest run.)
        if os.environ.get("COLORIZER_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager fetch a driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1400,1200",
                 f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.execute_cdp_cmd("Page.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def _wait_for(condition, what: str, timeout: float = WAIT_S):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@pytest.mark.timeout(600)
def test_upload_colorize_download_in_a_real_browser(running_app, browser, tmp_path):
    from selenium.webdriver.common.by import By

    # An old photo: the gray of a scikit-image sample, 512 x 512.
    gray = (data.astronaut() @ [0.299, 0.587, 0.114]).round().astype(np.uint8)
    photo = tmp_path / "grandma.png"
    Image.fromarray(gray).save(photo)
    cup = tmp_path / "cup.jpg"  # a second photo, in colour
    Image.fromarray(data.coffee()).save(cup, quality=90)

    browser.get(running_app.url)
    upload = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR,
                                                     "#photos input[type=file]"), "the page")
    upload[0].send_keys(f"{photo}\n{cup}")  # two files chosen at once
    _wait_for(lambda: browser.find_elements(
        By.CSS_SELECTOR, "#photos td.filename[aria-label='cup.jpg']"), "the upload")
    browser.find_element(By.ID, "colorize").click()
    links = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#downloads a[download]"),
                      "the result")
    status = browser.find_element(By.ID, "status").text
    assert "Colorized 2 of 2 photos" in status, status
    assert [a.get_attribute("download") for a in links] == ["grandma.png", "cup.jpg",
                                                           "colorized.zip"]
    # The before/after slider shows both images of the first photo.
    slider = _wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#compare img[src]"),
                       "the before/after slider")
    assert len(slider) == 2 and "000-before" in slider[0].get_attribute("src")

    screenshot = os.environ.get("COLORIZER_APP_SCREENSHOT") or str(tmp_path / "app.png")
    assert browser.save_screenshot(screenshot)
    with Image.open(screenshot) as shot:
        assert shot.width >= 1000 and np.asarray(shot.convert("L")).std() > 10

    # Choosing the second photo shows it in the slider.
    browser.find_element(By.CSS_SELECTOR, "#chooser input").click()
    _wait_for(lambda: [li for li in browser.find_elements(By.CSS_SELECTOR, "#chooser li")
                       if li.text.endswith("2. cup.jpg")], "the photo list")[0].click()
    _wait_for(lambda: "001-before" in browser.find_element(
        By.CSS_SELECTOR, "#compare img[src]").get_attribute("src"), "the second photo")

    links[0].click()
    saved = _wait_for(lambda: [p for p in browser.downloads.iterdir()
                               if p.suffix == ".png"], "the download", timeout=60)
    assert [p.name for p in saved] == ["grandma.png"]
    with Image.open(saved[0]) as result:
        assert result.size == (512, 512) and result.mode == "RGB"
        assert result.info["Description"].startswith("Colorized by colorizer")
        colour = np.asarray(result)
    assert np.abs(colour.astype(int) - colour[..., :1]).max() > 2, "no colour was added"
    expected = rgb2lab(np.repeat(gray[..., None], 3, axis=-1))[..., 0]
    diff = np.abs(rgb2lab(colour)[..., 0] - expected)
    unclipped = ((colour > 0) & (colour < 255)).all(axis=-1)
    assert unclipped.mean() > 0.5  # the sample has pure black and white areas
    # Rounding to 8-bit RGB moves L by at most ~0.3; only clipped colours may move more.
    assert diff[unclipped].max() < 0.35 and np.median(diff) < 0.2
