"""The fetcher against hostile servers: each case refused or cut, with the reason and the time.

Real HTTP servers on loopback addresses (``tests/loopback.py``) play a public site (one
allowed ``(ip, port)``, standing in for the internet) and a service inside the network
(127.0.0.2, never allowed). Each case is fetched under the web app's policy (``PUBLIC_ONLY``)
with a 2 s deadline and a 1 MB cap; the table records the outcome, the reason code, the
message the app's page would show, the seconds taken, and how often the internal service was
reached (it must be 0).

Usage:
    python benchmarks/fetch_faults.py --out benchmarks/fetch_faults.json
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from colorizer.app.jobs import link_failure  # noqa: E402
from colorizer.data.fetch import PUBLIC_ONLY, FetchError, fetch_bytes  # noqa: E402
from tests.loopback import LoopbackServer  # noqa: E402

DEADLINE, CAP = 2.0, 1_000_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/fetch_faults.json")
    args = parser.parse_args()
    site = LoopbackServer().start()
    internal = LoopbackServer(host="127.0.0.2", port=site.address[1]).start()
    internal.add("/secret", b"internal data")
    policy = PUBLIC_ONLY.but(allow_internal=frozenset({site.address}), deadline=DEADLINE,
                             max_bytes=CAP)
    body = bytes(range(256)) * 64
    port = site.address[1]
    cases = {
        "redirect to 127.0.0.2 (internal service)": site.add("/a", redirect=internal.url(
            "/secret")),
        "redirect to localhost, another port": site.add(
            "/b", redirect=f"http://localhost:{port + 1}/secret"),
        "redirect to a private address (10.0.0.1)": site.add("/c",
                                                             redirect="http://10.0.0.1/x"),
        "redirect to cloud metadata (169.254.169.254)": site.add(
            "/d", redirect="http://169.254.169.254/latest/meta-data/"),
        "redirect to IPv4-mapped IPv6 loopback": site.add(
            "/e", redirect=f"http://[::ffff:127.0.0.2]:{port}/secret"),
        "redirect to file://": site.add("/f", redirect="file:///etc/passwd"),
        "direct link to 127.0.0.2": internal.url("/secret"),
        "DNS rebinding (public, then internal)": f"http://rebind.test:{port}/g",
        "trickling body (1 byte / 50 ms)": site.add("/h", body[:1000], trickle=0.05),
        "headers after 5 s": site.add("/i", body, delay=5.0),
        "Content-Length says 10, sends 16 kB": site.add("/j", body, content_length=10),
        "Content-Length says 1 GB": site.add("/k", body, content_length=10**9),
        "Content-Length says more than is sent": site.add("/l", body, truncate=100),
        "endless stream, no Content-Length": site.add("/m", body * 200, chunked=True),
        "redirect loop": site.add("/n", redirect="/n"),
    }
    site.add("/g", body)
    real, asked = socket.getaddrinfo, []

    def rebinding(host, port_, *rest, **options):
        if host != "rebind.test":
            return real(host, port_, *rest, **options)
        asked.append(host)
        answer = "127.0.0.1" if len(asked) % 2 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port_))]

    socket.getaddrinfo = rebinding
    rows = []
    for case, url in cases.items():
        start = time.monotonic()
        try:
            data, _ = fetch_bytes(url, policy, retries=0)
            outcome, reason = "fetched", ""
            page = (f"{len(data)} bytes from the public site (the address checked)"
                    if "rebind" in url else f"{len(data)} bytes (no more than announced)")
        except FetchError as error:
            outcome, reason, page = "refused or cut", error.reason, link_failure(url, error)
        rows.append({"case": case, "outcome": outcome, "reason": reason, "page_says": page,
                     "seconds": round(time.monotonic() - start, 2)})
        print(f"{case:48s} {outcome:15s} {reason:20s} {rows[-1]['seconds']:5.2f} s  {page}")
    socket.getaddrinfo = real
    result = {"policy": "PUBLIC_ONLY (the web app's)", "deadline_s": DEADLINE,
              "cap_bytes": CAP, "internal_service_hits": sum(internal.hits.values()),
              "rebinding_dns_questions": len(asked), "cases": rows}
    print(f"internal service reached {result['internal_service_hits']} times")
    site.stop()
    internal.stop()
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
