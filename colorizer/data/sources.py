"""Dataset sources: Oxford-IIIT Pet, Google Drive (through gdown) and local folders.

Each function returns the folder of images to prepare, and each can be run again: finished
steps are recognised and skipped. Import them from :mod:`colorizer.data.download`.
"""
from __future__ import annotations

import csv
import inspect
import logging
import os
import re

from colorizer.data.archives import ARCHIVE_SUFFIXES, extract_archive, is_archive
from colorizer.data.fetch import fetch_file
from colorizer.fileio import atomic_path, write_text

log = logging.getLogger(__name__)

OXFORD_PETS_IMAGES_URL = "https://www.robots.ox.ac.uk/~vgg/data/pets/data/images.tar.gz"
OXFORD_PETS_ANNOTATIONS_URL = "https://www.robots.ox.ac.uk/~vgg/data/pets/data/annotations.tar.gz"
LABELS_NAME = "labels.csv"
"""Per-image labels written beside the images: columns ``file``, ``breed``, ``species``."""


def _extract_once(archive: str, dest: str, marker: str, keep_archive: bool) -> None:
    """Extracts ``archive`` into ``dest`` unless ``marker`` says it was done; then marks it."""
    if os.path.exists(marker):
        return
    result = extract_archive(archive, dest)
    for name, reason in result.skipped:
        log.warning("%s: skipped member %s (%s)", archive, name, reason)
    write_text(marker, f"{len(result.files)} files\n")
    if not keep_archive:
        os.remove(archive)  # the marker now stands for it; saves space on Drive


def _species_from_list(path: str) -> dict[str, str]:
    """Reads ``annotations/list.txt``: ``NAME CLASS-ID SPECIES BREED-ID``, species 1 cat, 2 dog."""
    species = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                if len(fields) >= 3 and not line.startswith("#"):
                    species[fields[0]] = {"1": "cat", "2": "dog"}.get(fields[2], "")
    return species


def write_pet_labels(images_dir: str, list_file: str | None = None) -> str:
    """Writes ``labels.csv`` (file, breed, species) for the Oxford-IIIT Pet images.

    The breed is the file name without its trailing number (``British_Shorthair_12.jpg`` ->
    ``british_shorthair``); the species comes from the annotations' ``list.txt`` when given,
    else from the dataset's convention that cat breeds are capitalised and dog breeds not.

    Returns:
        The path of the labels file.
    """
    known = _species_from_list(list_file) if list_file else {}
    rows = []
    for name in sorted(os.listdir(images_dir)):
        stem, extension = os.path.splitext(name)
        if extension.lower() != ".jpg":
            continue
        breed = re.sub(r"_\d+$", "", stem)
        species = known.get(stem) or ("cat" if breed[:1].isupper() else "dog")
        rows.append((name, breed.lower(), species))
    path = os.path.join(images_dir, LABELS_NAME)
    with atomic_path(path) as temporary, open(temporary, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(("file", "breed", "species"))
        writer.writerows(rows)
    return path


def download_oxford_pets(out_dir: str | os.PathLike, *,
                         images_url: str = OXFORD_PETS_IMAGES_URL,
                         annotations_url: str = OXFORD_PETS_ANNOTATIONS_URL,
                         keep_archives: bool = False, progress: bool = True) -> str:
    """Downloads Oxford-IIIT Pet (7,349 labelled photos of 37 cat and dog breeds) with labels.

    The archives download resumably, extract safely into ``out_dir`` (``images/`` and
    ``annotations/``), and ``images/labels.csv`` records each photo's breed and species. A
    second call finds the work done and returns at once.

    Args:
        out_dir: The dataset folder.
        images_url: The images archive (the official one by default).
        annotations_url: The annotations archive (for ``list.txt``).
        keep_archives: Keep the ``.tar.gz`` files after extraction.
        progress: Show progress bars.

    Returns:
        The folder of the photos, ``out_dir/images``.

    Example:
        >>> images = download_oxford_pets("/content/drive/MyDrive/colorizer/images/pets")
    """
    out_dir = os.fspath(out_dir)
    archives = os.path.join(out_dir, "archives")
    for url, part in ((images_url, "images"), (annotations_url, "annotations")):
        marker = os.path.join(out_dir, f".{part}-extracted")
        if os.path.exists(marker):
            continue
        archive = fetch_file(url, os.path.join(archives, f"{part}.tar.gz"), progress=progress)
        _extract_once(archive, out_dir, marker, keep_archives)
    images_dir = os.path.join(out_dir, "images")
    if not os.path.isdir(images_dir):
        raise FileNotFoundError(f"{images_url} held no images/ folder; delete {out_dir} "
                                "and check the URL")
    write_pet_labels(images_dir, os.path.join(out_dir, "annotations", "list.txt"))
    return images_dir


_DRIVE_HINT = ("check that it is shared as 'Anyone with the link'; a much-downloaded file can "
               "be blocked by Drive for a day: copy it to your own Drive and use that copy")


class GdriveError(RuntimeError):
    """A Google Drive download failed (whichever gdown version reported it, and how)."""


def _call_gdown(function, what: str, **kwargs):
    """Calls a gdown function with the keywords its version knows; unifies its failures.

    Older gdown (as shipped on Colab for a long time) prints a message and returns None on
    failure; newer releases raise. Both become one :class:`GdriveError`.
    """
    accepted = inspect.signature(function).parameters
    kwargs = {k: v for k, v in kwargs.items() if k in accepted}
    hint = _DRIVE_HINT
    try:
        result = function(**kwargs)
    except Exception as error:  # gdown raises requests, OS and its own errors alike
        raise GdriveError(f"downloading {what} from Google Drive failed ({error}); {hint}") \
            from error
    if not result:
        raise GdriveError(f"downloading {what} from Google Drive failed; {hint}")
    return result


def _check_drive_file(path: str) -> None:
    """Refuses what a Drive download may leave instead of the file: an error or quota page
    saved under the file's name (older gdown keeps any answer, a 404 included), or a file
    named as an archive that is not one. The file is removed, so a rerun tries again."""
    with open(path, "rb") as file:
        head = file.read(512).lstrip().lower()
    reason = None
    if head.startswith((b"<!doctype html", b"<html")) and not path.lower().endswith(
            (".html", ".htm")):
        reason = "Drive answered with a web page (an error, a sign-in or a quota page)"
    elif path.lower().endswith(ARCHIVE_SUFFIXES) and not is_archive(path):
        reason = "the file is named as an archive but is not one (an error answer, or cut short)"
    if reason:
        os.remove(path)
        raise GdriveError(f"downloading {os.path.basename(path)} from Google Drive failed: "
                          f"{reason}; {_DRIVE_HINT}")


def _drive_target(id_or_link: str, folder: bool) -> str:
    """A URL for gdown from a Drive link or a bare file/folder id."""
    value = id_or_link.strip()
    if re.match(r"^https?://", value):
        return value
    if re.fullmatch(r"[A-Za-z0-9_-]{10,}", value):
        return (f"https://drive.google.com/drive/folders/{value}" if folder
                else f"https://drive.google.com/uc?id={value}")
    raise ValueError(f"{id_or_link!r} is neither a Google Drive link nor a file id")


def download_gdrive(id_or_link: str, out_dir: str | os.PathLike, *, folder: bool = False,
                    quiet: bool = False) -> str:
    """Downloads a shared Google Drive file or folder with gdown; archives are extracted.

    A file may be an archive of images (tar or zip, extracted safely, then removed), an
    image, or prepared shards. A folder is downloaded whole, and archives in it extracted.

    Args:
        id_or_link: A share link (``https://drive.google.com/file/d/ID/view``,
            ``.../drive/folders/ID``) or a bare id. Any other http(s) URL works too.
        out_dir: The target folder.
        folder: The id names a folder rather than a file.
        quiet: Silence gdown's own progress output.

    Returns:
        ``out_dir``.

    Raises:
        GdriveError: The download failed; the message says what to check.
    """
    import gdown

    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    url = _drive_target(id_or_link, folder)
    marker = os.path.join(out_dir, ".gdrive-" + re.sub(r"[^A-Za-z0-9]+", "_", url)[-80:])
    if os.path.exists(marker):
        return out_dir
    if folder:
        files = _call_gdown(gdown.download_folder, url, url=url, output=out_dir, quiet=quiet,
                            remaining_ok=True, resume=True)
    else:
        files = [_call_gdown(gdown.download, url, url=url, output=out_dir + os.sep,
                             quiet=quiet, fuzzy=True, resume=True)]
    for path in files:
        _check_drive_file(path)
    for path in files:
        if path.lower().endswith(ARCHIVE_SUFFIXES) and is_archive(path):
            extracted = extract_archive(path, out_dir)
            for name, reason in extracted.skipped:
                log.warning("%s: skipped member %s (%s)", path, name, reason)
            os.remove(path)
    write_text(marker, "\n".join(map(str, files)) + "\n")
    return out_dir


def use_folder(path: str | os.PathLike) -> str:
    """Checks that a local or mounted folder holds images, to be used in place.

    Returns:
        ``path``.

    Raises:
        FileNotFoundError: ``path`` is not a folder.
        ValueError: It holds no image files.
    """
    from colorizer.data.images import list_images

    path = os.fspath(path)
    if not path:
        raise ValueError("no folder given: set the folder of your photos")
    found = list_images(path)
    if not found:
        raise ValueError(f"{path} holds no image files ({', '.join(('.jpg', '.png', '...'))}); "
                         "check the path (on Colab: /content/drive/MyDrive/...)")
    log.info("%d images in %s", len(found), path)
    return path
