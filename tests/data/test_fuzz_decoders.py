"""Fuzzing: real files of every format, mutated (bytes overwritten, cut, inserted), through the
header reader and the decoders; and arbitrary text through the URL and file-name makers.

The properties: a mutated file either decodes, within the pixel cap, or fails with the one
error the callers catch (``HeaderError`` / ``ImageReadError``); nothing else escapes, and
nothing larger than the cap is ever decoded. A bounded number of examples runs in the suite;
``COLORIZER_FUZZ_EXAMPLES=20000`` runs a long pass.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from colorizer.data.fetch import FetchError, check_url, safe_file_name  # noqa: E402
from colorizer.fileio import path_inside  # noqa: E402
from colorizer.data.image_header import HeaderError, image_dimensions  # noqa: E402
from colorizer.data.images import ImageReadError, decode_photo, decode_rgb  # noqa: E402
from colorizer.batches.inputs import url_output_name  # noqa: E402
from tests.data.test_image_header import _samples  # noqa: E402

EXAMPLES = int(os.environ.get("COLORIZER_FUZZ_EXAMPLES", "40"))
CAP = 2_000_000
SEEDS = sorted(_samples().items())
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=EXAMPLES <= 100,
                database=None,  # nothing written into the checkout
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated_files(draw) -> bytes:
    _, data = draw(st.sampled_from(SEEDS))
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["set", "cut", "insert", "header", "number"]))
        if not data:
            break
        # Most damage where the parsers look: the first 64 bytes.
        limit = 64 if kind == "header" else len(data)
        at = draw(st.integers(0, min(limit, len(data)) - 1))
        if kind in ("set", "header"):
            data[at] = draw(st.integers(0, 255))
        elif kind == "number":  # a width, height, length or offset turned into another
            size = draw(st.sampled_from([2, 4]))
            value = draw(st.integers(0, 256 ** size - 1))
            data[at:at + size] = value.to_bytes(size, draw(st.sampled_from(["big", "little"])))
        elif kind == "cut":
            del data[at:]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@FUZZ
@given(mutated_files())
def test_mutated_files_decode_within_the_cap_or_fail_cleanly(data):
    try:
        image_dimensions(data)
    except HeaderError:
        pass
    for decode in (decode_photo, decode_rgb):
        try:
            array = decode(data, name="fuzz", max_pixels=CAP)
        except ImageReadError:
            continue
        assert isinstance(array, np.ndarray) and array.shape[0] * array.shape[1] <= CAP


@FUZZ
@given(st.text(max_size=200))
def test_any_url_gives_a_safe_name_inside_its_folder_or_a_clean_refusal(tmp_path_factory, text):
    folder = tmp_path_factory.getbasetemp()
    for url in (text, "https://h/" + text, "http://h/a?" + text):
        name = safe_file_name(url, ".jpg")
        assert path_inside(folder, name).startswith(str(folder))
        assert os.sep not in name and not name.startswith(".")
        output = url_output_name(url)
        assert "/" not in output and path_inside(folder, output)
        try:
            check_url(url)
        except FetchError as error:
            assert error.reason == "bad-scheme"
