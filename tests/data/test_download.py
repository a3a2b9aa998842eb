"""The downloader against a real HTTP server on 127.0.0.1 that misbehaves on purpose."""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import tarfile
import urllib.parse
import zipfile

import pytest
from PIL import Image

from colorizer.data import download
from colorizer.data.archives import extract_archive, safe_target
from colorizer.data.fetch import FetchError, fetch_bytes, fetch_file
from colorizer.data.images import list_images, read_rgb
from colorizer.data.sources import GdriveError, _call_gdown, _drive_target
from tests.loopback import loopback  # noqa: F401  (fixture)

FAST = dict(timeout=0.5, retries=2, backoff=0.01, progress=False)


def encode(photo, size=(64, 48), fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(photo).resize(size).save(buffer, format=fmt)
    return buffer.getvalue()


def manifest_of(folder) -> dict[str, dict]:
    with open(os.path.join(folder, "manifest.jsonl"), encoding="utf-8") as f:
        entries = [json.loads(line) for line in f]
    assert len({e["url"] for e in entries}) == len(entries), "compacted: one line per URL"
    return {e["url"]: e for e in entries}


@pytest.fixture()
def faults(loopback, photos):
    """Routes for every case the downloader must handle; returns {case: url}."""
    a, b, c = encode(photos[0]), encode(photos[1], fmt="PNG"), encode(photos[2])
    big = encode(photos[3], size=(600, 600), fmt="PNG")
    return {
        "good": loopback.add("/img/a.jpg", a, content_type="image/jpeg"),
        "png": loopback.add("/img/b.png", b, content_type="image/png"),
        "duplicate": loopback.add("/mirror/a-copy.jpg", a),
        "missing": loopback.add("/img/missing.jpg", status=404),
        "flaky": loopback.add("/img/flaky.jpg", encode(photos[4]), fail_first=1),
        "slow": loopback.add("/img/slow.jpg", c, delay=2.0),
        "truncated": loopback.add("/img/cut.jpg", encode(photos[5]), truncate=300),
        "html": loopback.add("/img/page.jpg", b"<html><body>Sorry</body></html>" * 10,
                             content_type="text/html"),
        "redirect": loopback.add("/img/old.jpg", redirect="/img/new.jpg"),
        "target": loopback.add("/img/new.jpg", c),
        "too-large": loopback.add("/img/huge.png", big),
        "too-large-stream": loopback.add("/img/stream.png", big, chunked=True),
        "ftp-redirect": loopback.add("/img/ftp.jpg", redirect="ftp://127.0.0.1/x.jpg"),
        "tiny": loopback.add("/img/pixel.gif", encode(photos[0], size=(1, 1), fmt="GIF")),
        "file": "file:///etc/passwd",
    }


EXPECTED = {  # case -> (status, reason)
    "good": ("kept", ""), "png": ("downloaded", ""), "duplicate": ("kept", ""),
    "missing": ("failed", "http-404"), "flaky": ("downloaded", ""),
    "slow": ("failed", "timeout"), "truncated": ("failed", "truncated"),
    "html": ("failed", "not-image"), "redirect": ("downloaded", ""),
    "too-large": ("failed", "too-large"), "too-large-stream": ("failed", "too-large"),
    "ftp-redirect": ("failed", "bad-scheme"), "file": ("failed", "bad-scheme"),
    "tiny": ("failed", "too-small"),
}


def test_every_fault_is_recorded_and_a_rerun_fetches_nothing_new(tmp_path, loopback, faults):
    urls = [faults[case] for case in EXPECTED]
    report = download.download_urls(urls, tmp_path, workers=4, max_bytes=100_000, **FAST)

    entries = manifest_of(tmp_path)
    assert set(entries) == set(urls)
    for case, (status, reason) in EXPECTED.items():
        entry = entries[faults[case]]
        if status == "kept":  # two URLs, same bytes: whichever finished first is kept
            assert entry["status"] in ("downloaded", "duplicate") and not entry["reason"]
        else:
            assert (entry["status"], entry["reason"]) == (status, reason), case
    assert {entries[faults["good"]]["status"], entries[faults["duplicate"]]["status"]} == {
        "downloaded", "duplicate"}
    assert entries[faults["flaky"]]["attempts"] == 2
    assert entries[faults["truncated"]]["attempts"] == 3  # retried: a dropped connection
    assert loopback.hits["/img/missing.jpg"] == 1  # a 4xx is not retried
    assert entries[faults["duplicate"]]["file"] == entries[faults["good"]]["file"]
    assert entries[faults["png"]]["file"].endswith(".png")

    assert (report.downloaded, report.duplicates, report.skipped) == (4, 1, 0)
    assert report.failed == {"http-404": 1, "timeout": 1, "truncated": 1, "not-image": 1,
                             "too-large": 2, "bad-scheme": 2, "too-small": 1}
    assert not report.ok and "failed 9" in report.summary()
    # Only whole, decodable images are in the folder: no temporary or HTML files.
    kept = sorted(os.listdir(tmp_path))
    assert kept == sorted(["manifest.jsonl"] + [os.path.basename(p)
                                                for p in list_images(tmp_path)])
    assert len(list_images(tmp_path)) == 4
    for path in list_images(tmp_path):
        assert read_rgb(path).shape == (48, 64, 3)

    loopback.reset_counts()
    loopback.add("/img/missing.jpg", encode(read_rgb(list_images(tmp_path)[0])[::-1]))
    again = download.download_urls(urls, tmp_path, workers=4, max_bytes=100_000, **FAST)
    for case in ("good", "png", "duplicate", "flaky", "redirect"):
        assert loopback.hits[urllib.parse.urlsplit(faults[case]).path] == 0, case
    assert (again.downloaded, again.skipped, again.retried) == (1, 5, 9)
    assert manifest_of(tmp_path)[faults["missing"]]["status"] == "downloaded"
    assert len(list_images(tmp_path)) == 5


def test_fetch_bytes_retries_5xx_until_it_succeeds(loopback, photos):
    url = loopback.add("/flaky.jpg", encode(photos[0]), fail_first=2)
    data, attempts = fetch_bytes(url, timeout=2, retries=3, backoff=0.01)
    assert attempts == 3 and Image.open(io.BytesIO(data)).size == (64, 48)
    loopback.add("/down.jpg", b"x", fail_first=10)
    with pytest.raises(FetchError) as caught:
        fetch_bytes(loopback.url("/down.jpg"), timeout=2, retries=1, backoff=0.01)
    assert caught.value.reason == "http-500" and caught.value.attempts == 2


def _digest(data: bytes) -> str:
    """Compared instead of the bytes, so a failure prints two short strings."""
    return hashlib.sha256(data).hexdigest()


def _interrupted(loopback, tmp_path, body: bytes, cut: int, **route) -> tuple[str, object]:
    """A download of ``body`` whose connection drops after ``cut`` bytes: the partial file."""
    url = loopback.add("/big.bin", body, truncate=cut, **route)
    target = tmp_path / "big.bin"
    with pytest.raises(FetchError) as caught:
        fetch_file(url, target, retries=0, progress=False)
    assert caught.value.reason == "truncated"
    assert (tmp_path / "big.bin.part").read_bytes() == body[:cut]
    return url, target


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_fetch_file_resumes_an_interrupted_download_of_the_same_file(tmp_path, loopback,
                                                                     validator):
    body = os.urandom(200_000)
    route = ({} if validator == "etag" else
             {"etag": None, "last_modified": "Mon, 02 Jan 2006 15:04:05 GMT"})
    url, target = _interrupted(loopback, tmp_path, body, 120_000, **route)
    loopback.add("/big.bin", body, **route)  # the connection holds this time
    fetch_file(url, target, progress=False)
    assert _digest(target.read_bytes()) == _digest(body)
    assert not [p for p in os.listdir(tmp_path) if ".part" in p]
    sent = loopback.requests[-1][1]
    assert sent.get("Range") == "bytes=120000-"
    expected = (f'"{hashlib.sha1(body).hexdigest()[:16]}"' if validator == "etag"
                else route["last_modified"])
    assert sent.get("If-Range") == expected
    fetch_file(url, target, progress=False)  # done: no request
    assert loopback.hits["/big.bin"] == 2


@pytest.mark.parametrize("validator", ["etag", "last_modified"])
def test_a_file_changed_on_the_server_is_downloaded_again_not_stitched(tmp_path, loopback,
                                                                       validator):
    old, new = os.urandom(200_000), os.urandom(210_000)
    dated = {"etag": None, "last_modified": "Mon, 02 Jan 2006 15:04:05 GMT"}
    url, target = _interrupted(loopback, tmp_path, old, 120_000,
                               **({} if validator == "etag" else dated))
    loopback.add("/big.bin", new, **({} if validator == "etag" else
                                     {**dated, "last_modified": "Tue, 03 Jan 2006 10:00:00 GMT"}))
    fetch_file(url, target, progress=False)
    assert _digest(target.read_bytes()) == _digest(new)
    assert loopback.hits["/big.bin"] == 2  # one request: If-Range turned it into a full 200


def test_a_server_that_ignores_if_range_is_caught_by_its_etag(tmp_path, loopback):
    old, new = os.urandom(200_000), os.urandom(200_000)
    url, target = _interrupted(loopback, tmp_path, old, 120_000)
    loopback.add("/big.bin", new, ignore_if_range=True)  # answers 206 from the new file
    fetch_file(url, target, progress=False, retries=2, backoff=0.01)
    assert _digest(target.read_bytes()) == _digest(new)


def test_a_range_that_starts_elsewhere_restarts_from_zero(tmp_path, loopback):
    body = os.urandom(200_000)
    url, target = _interrupted(loopback, tmp_path, body, 120_000)
    loopback.add("/big.bin", body, range_offset=10)  # Content-Range: bytes 119990-...
    fetch_file(url, target, progress=False, retries=2, backoff=0.01)
    assert _digest(target.read_bytes()) == _digest(body)
    assert "Range" not in loopback.requests[-1][1]  # the last request asked for all of it


def test_without_a_validator_a_partial_file_is_not_trusted(tmp_path, loopback):
    old, new = os.urandom(200_000), os.urandom(200_000)
    url, target = _interrupted(loopback, tmp_path, old, 120_000, etag=None)
    loopback.add("/big.bin", new, etag=None)
    fetch_file(url, target, progress=False)
    assert _digest(target.read_bytes()) == _digest(new)
    assert "Range" not in loopback.requests[-1][1]


def test_a_partial_file_of_another_url_is_not_resumed(tmp_path, loopback):
    body = os.urandom(100_000)
    url, target = _interrupted(loopback, tmp_path, body, 50_000)
    other = loopback.add("/other.bin", body)
    fetch_file(other, target, progress=False)
    assert _digest(target.read_bytes()) == _digest(body)
    assert "Range" not in loopback.requests[-1][1]


def test_read_url_list_skips_comments_blanks_and_repeats(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text("# cats\nhttps://a/1.jpg\n\n  https://a/2.jpg  # second\nhttps://a/1.jpg\n")
    assert download.read_url_list(path) == ["https://a/1.jpg", "https://a/2.jpg"]


def test_file_names_from_urls_cannot_escape():
    for url in ("http://h/../../etc/passwd", "http://h/a%2F..%2F..%2Fx.jpg", "http://h/",
                "http://h/..", "http://h/%00%2e%2e"):
        name = download.safe_file_name(url, ".jpg")
        assert "/" not in name and not name.startswith(".") and name.endswith(".jpg"), name
    assert download.safe_file_name("http://h/a.jpg") != download.safe_file_name("http://g/a.jpg")


def _tar_with_escapes(path, image: bytes) -> None:
    with tarfile.open(path, "w:gz") as archive:
        def add(name, data=b"", **fields):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for key, value in fields.items():
                setattr(info, key, value)
            archive.addfile(info, io.BytesIO(data))
        add("photos/ok.jpg", image)
        add("../evil.txt", b"outside")
        add("photos/../../evil2.txt", b"outside")
        add("/tmp/colorizer-abs-evil.txt", b"absolute")
        add("photos/link", type=tarfile.SYMTYPE, linkname="../../")
        add("photos/link/evil3.txt", b"through the link")
        add("photos/hard", type=tarfile.LNKTYPE, linkname="/etc/passwd")


def test_archives_extract_nothing_outside_the_target(tmp_path, photos):
    image = encode(photos[0])
    _tar_with_escapes(tmp_path / "bad.tar.gz", image)
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as archive:
        archive.writestr("photos/ok.jpg", image)
        archive.writestr("../evil.txt", "outside")
        link = zipfile.ZipInfo("photos/zlink")
        link.external_attr = (0o120777 << 16)
        archive.writestr(link, "../../")
    for name in ("bad.tar.gz", "bad.zip"):
        target = tmp_path / ("out-" + name.replace(".", "-"))
        result = extract_archive(tmp_path / name, target)
        # The link is never created, so a member "through" it is a plain file inside.
        inside = ["photos/link/evil3.txt", "photos/ok.jpg"] if "tar" in name else [
            "photos/ok.jpg"]
        assert sorted(os.path.relpath(f, target) for f in result.files) == inside
        assert len(result.skipped) == (5 if "tar" in name else 2), result.skipped
        walked = [os.path.join(r, f) for r, ds, fs in os.walk(target) for f in fs + ds]
        assert not any(os.path.islink(p) for p in walked)
        assert all(os.path.realpath(p).startswith(os.path.realpath(target) + os.sep)
                   for p in walked)
        assert sorted(p for p in (os.path.relpath(w, target) for w in walked)
                      if os.path.isfile(os.path.join(target, p))) == inside
    assert not os.path.exists(tmp_path / "evil.txt")
    assert not os.path.exists(tmp_path.parent / "evil2.txt")
    assert not os.path.exists("/tmp/colorizer-abs-evil.txt")
    assert safe_target(str(tmp_path), "a/../../b") is None
    assert safe_target(str(tmp_path), "a/b.jpg") == os.path.join(os.path.realpath(tmp_path),
                                                                 "a", "b.jpg")


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_gdown_downloads_and_extracts_an_archive(tmp_path, loopback, photos):
    members = {f"shots/p{i}.jpg": encode(photo) for i, photo in enumerate(photos[:3])}
    url = loopback.add("/files/shots.tar.gz", _tar_gz(members))
    folder = download.download_gdrive(url, tmp_path / "drive", quiet=True)
    assert sorted(os.path.relpath(p, folder) for p in list_images(folder)) == sorted(members)
    assert not os.path.exists(os.path.join(folder, "shots.tar.gz"))  # extracted, removed
    download.download_gdrive(url, tmp_path / "drive", quiet=True)
    assert loopback.hits["/files/shots.tar.gz"] == 1  # the second call found it done

    with pytest.raises(GdriveError, match="Anyone with the link"):
        download.download_gdrive(loopback.url("/files/missing.zip"), tmp_path / "d2", quiet=True)


def test_gdown_failures_of_every_version_become_one_error():
    def old_style_gdown(url, output, quiet=False):  # the signature and None of older gdown
        return None

    with pytest.raises(GdriveError, match="failed"):
        _call_gdown(old_style_gdown, "x", url="u", output="o", quiet=True, fuzzy=True)
    assert _drive_target("1AbCdEfGhIjKlMnOp", folder=False).endswith("uc?id=1AbCdEfGhIjKlMnOp")
    assert "/folders/1AbCdEfGhIjK" in _drive_target("1AbCdEfGhIjK", folder=True)
    with pytest.raises(ValueError):
        _drive_target("not an id!", folder=False)


def test_oxford_pets_from_its_archives_with_labels(tmp_path, loopback, photos):
    names = ["Abyssinian_1", "Abyssinian_2", "beagle_1", "Bengal_3", "yorkshire_terrier_7"]
    images = {f"images/{n}.jpg": encode(photos[i % 6]) for i, n in enumerate(names)}
    listing = ("#Image CLASS-ID SPECIES BREED ID\nAbyssinian_1 1 1 1\nAbyssinian_2 1 1 1\n"
               "beagle_1 4 2 3\nyorkshire_terrier_7 37 2 25\n").encode()
    annotations = {"annotations/list.txt": listing,
                   "annotations/trimaps/beagle_1.png": encode(photos[0], fmt="PNG")}
    images_url = loopback.add("/pets/images.tar.gz", _tar_gz(images))
    annotations_url = loopback.add("/pets/annotations.tar.gz", _tar_gz(annotations))

    folder = download.download_oxford_pets(tmp_path / "pets", images_url=images_url,
                                           annotations_url=annotations_url, progress=False)
    assert folder == os.path.join(tmp_path, "pets", "images")
    assert len(list_images(folder)) == 5
    with open(os.path.join(folder, "labels.csv"), newline="") as f:
        rows = {r["file"]: (r["breed"], r["species"]) for r in csv.DictReader(f)}
    assert rows == {"Abyssinian_1.jpg": ("abyssinian", "cat"),
                    "Abyssinian_2.jpg": ("abyssinian", "cat"),
                    "beagle_1.jpg": ("beagle", "dog"), "Bengal_3.jpg": ("bengal", "cat"),
                    "yorkshire_terrier_7.jpg": ("yorkshire_terrier", "dog")}
    assert not os.path.exists(tmp_path / "pets" / "archives" / "images.tar.gz")
    loopback.reset_counts()
    assert download.download_oxford_pets(tmp_path / "pets", images_url=images_url,
                                         annotations_url=annotations_url,
                                         progress=False) == folder
    assert sum(loopback.hits.values()) == 0


def test_a_local_folder_is_used_in_place(image_folder, tmp_path):
    assert download.use_folder(image_folder) == image_folder
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files"):
        download.use_folder(tmp_path / "empty")
    with pytest.raises(FileNotFoundError):
        download.use_folder(tmp_path / "nowhere")


def test_a_drive_error_page_saved_as_the_file_is_refused_and_removed(tmp_path, loopback):
    """Older gdown (Colab's 5.2) keeps whatever a server answers; a quota or error page saved
    as `photos.zip` must fail with the hint, not be kept as the download."""
    page = b"<!DOCTYPE html><html><title>Google Drive - Quota exceeded</title></html>"
    url = loopback.add("/files/photos.zip", page)
    with pytest.raises(GdriveError, match="web page"):
        download.download_gdrive(url, tmp_path / "drive", quiet=True)
    assert not any(name.endswith(".zip") for name in os.listdir(tmp_path / "drive"))
    assert not any(name.startswith(".gdrive-") for name in os.listdir(tmp_path / "drive"))
