"""``colorizer download``: fetch photos from a dataset source into a folder."""
from __future__ import annotations

import argparse
import sys

USES_TENSORFLOW = False
"""Downloading needs no TensorFlow, so the command line does not import it."""

SOURCES = ("oxford-pets", "urls", "gdrive", "folder")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "download", help="download photos (Oxford-IIIT Pet, a URL list, Google Drive, a folder)",
        description="Downloads photos into --out. oxford-pets: the Oxford-IIIT Pet dataset "
                    "with breed and species labels (images land in OUT/images). urls: every "
                    "URL of --urls FILE, in parallel; OUT/manifest.jsonl records each URL's "
                    "outcome. gdrive: a shared file (an archive is extracted) or, with "
                    "--folder, a shared folder, by --id. folder: checks that --out holds "
                    "photos and uses it in place. Running the same command again resumes: "
                    "finished work is skipped, failed URLs are retried. The exit status is 1 "
                    "when anything failed, after everything else was done.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--source", required=True, choices=SOURCES, help="where photos come from")
    parser.add_argument("--out", required=True,
                        help="target folder (for --source folder: the folder of photos)")
    parser.add_argument("--urls", metavar="FILE",
                        help="text file, one image URL per line (# comments allowed)")
    parser.add_argument("--id", metavar="ID_OR_LINK", help="Google Drive share link or id")
    parser.add_argument("--folder", action="store_true",
                        help="with --source gdrive: the id is a shared folder")
    parser.add_argument("--workers", type=int, default=8, help="parallel downloads (urls)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds one request may take in all (connect, headers, body)")
    parser.add_argument("--retries", type=int, default=3,
                        help="extra attempts after 5xx, timeouts and dropped connections")
    parser.add_argument("--max-mb", type=float, default=25.0, help="largest accepted image")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.set_defaults(run=run, parser=parser)


def run(args) -> int:
    from colorizer.data import download

    progress = not args.quiet
    if args.source == "urls":
        if not args.urls:
            args.parser.error("--source urls needs --urls FILE")
        report = download.download_urls(
            download.read_url_list(args.urls), args.out, workers=args.workers,
            timeout=args.timeout, retries=args.retries, max_bytes=int(args.max_mb * 2**20),
            progress=progress)
        for url, reason, message in report.failures:
            print(f"failed ({reason}): {message}", file=sys.stderr)
        print(report.summary())
        return 0 if report.ok else 1
    if args.source == "gdrive":
        if not args.id:
            args.parser.error("--source gdrive needs --id ID_OR_LINK")
        try:
            folder = download.download_gdrive(args.id, args.out, folder=args.folder,
                                              quiet=args.quiet)
        except download.GdriveError as error:
            print(f"colorizer download: error: {error}", file=sys.stderr)
            return 1
    elif args.source == "oxford-pets":
        from colorizer.data.fetch import FetchError

        try:
            folder = download.download_oxford_pets(args.out, progress=progress)
        except FetchError as error:
            print(f"colorizer download: error: could not download Oxford-IIIT Pet ({error}); "
                  "check the connection and run the same command again: it resumes where it "
                  "stopped", file=sys.stderr)
            return 1
    else:
        folder = download.use_folder(args.out)
    from colorizer.data.images import list_images

    print(f"{len(list_images(folder))} images in {folder}")
    return 0
