"""The fetch policies against real servers on loopback addresses: internal addresses refused
after DNS and on every redirect, no DNS rebinding, an overall deadline, caps that hold whatever
the server says."""
from __future__ import annotations

import ipaddress
import socket
import time

import pytest

from colorizer.data import download
from colorizer.data.addresses import internal_reason
from colorizer.data.fetch import (
    OWNER, PUBLIC_ONLY, FetchError, fetch_bytes, safe_file_name)
from colorizer.fileio import path_inside
from colorizer.batches.inputs import url_output_name
from tests.loopback import LoopbackServer, loopback  # noqa: F401  (fixture)

BODY = bytes(range(256)) * 40


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.20", "private"),
    ("fc00::5", "private"), ("169.254.169.254", "metadata"), ("fd00:ec2::254", "metadata"),
    ("169.254.3.4", "link-local"), ("fe80::1", "link-local"), ("100.64.0.1", "shared"),
    ("224.0.0.251", "multicast"), ("ff02::1", "multicast"), ("240.0.0.1", "reserved"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "metadata"), ("::ffff:10.0.0.1", "private"),
    ("2002:7f00:1::", "loopback"), ("64:ff9b::a00:1", "private"),
    ("93.184.216.34", None), ("2606:4700:4700::1111", None), ("8.8.8.8", None),
])
def test_addresses_inside_a_network_are_named(address, reason):
    assert internal_reason(ipaddress.ip_address(address)) == reason


def test_public_only_refuses_loopback_before_connecting_the_owner_fetches_it(loopback):
    url = loopback.add("/cat.jpg", BODY)
    with pytest.raises(FetchError) as caught:
        fetch_bytes(url, PUBLIC_ONLY)
    assert caught.value.reason == "refused-address"
    assert "127.0.0.1" not in str(caught.value).removeprefix(url)
    assert loopback.hits["/cat.jpg"] == 0
    assert fetch_bytes(url, OWNER)[0] == BODY  # the command line: the owner's own network


@pytest.fixture()
def internal():
    """A second server, on another loopback address: a service inside the network."""
    server = LoopbackServer(host="127.0.0.2").start()
    yield server
    server.stop()


def _visible(server) -> object:
    """PUBLIC_ONLY, except that ``server`` counts as a public site."""
    return PUBLIC_ONLY.but(allow_internal=frozenset({server.address}))


@pytest.mark.parametrize("target, reason", [
    ("internal", "refused-address"),
    ("http://10.0.0.1/secret", "refused-address"),
    ("http://169.254.169.254/latest/meta-data/", "refused-address"),
    ("http://[::ffff:127.0.0.2]:{port}/secret", "refused-address"),
    ("file:///etc/passwd", "bad-scheme"),
])
def test_every_redirect_hop_is_checked_again(loopback, internal, target, reason):
    internal.add("/secret", b"internal data")
    if target == "internal":
        target = internal.url("/secret")
    loopback.add("/go", redirect=target.format(port=internal.address[1]))
    start = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch_bytes(loopback.url("/go"), _visible(loopback), timeout=5)
    assert caught.value.reason == reason
    assert loopback.hits["/go"] == 1 and internal.hits["/secret"] == 0
    assert time.monotonic() - start < 2  # refused, not left to time out


def test_a_name_that_rebinds_to_an_internal_address_is_connected_where_it_was_checked(
        monkeypatch):
    """The DNS answer changes after the first question (public first, then internal): the
    fetcher must connect to the address it checked, so it asks once and never reaches the
    internal server that shares the port on 127.0.0.2."""
    public = LoopbackServer().start()  # stands for a public site (allowed below)
    try:
        internal = LoopbackServer(host="127.0.0.2", port=public.address[1]).start()
    except OSError:
        public.stop()
        pytest.skip("the port is taken on 127.0.0.2")
    real = socket.getaddrinfo
    asked = []

    def rebinding(host, port, *args, **kwargs):
        if host != "photos.rebind.test":
            return real(host, port, *args, **kwargs)
        asked.append(host)
        answer = "127.0.0.1" if len(asked) == 1 else "127.0.0.2"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answer, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    try:
        public.add("/cat.jpg", BODY)
        internal.add("/cat.jpg", b"internal data")
        url = f"http://photos.rebind.test:{public.address[1]}/cat.jpg"
        data, _ = fetch_bytes(url, _visible(public))
        assert data == BODY and internal.hits["/cat.jpg"] == 0 and len(asked) == 1
        assert public.requests[0][1]["Host"] == f"photos.rebind.test:{public.address[1]}"
        # Asked again, the name now points inside: refused before any connection.
        with pytest.raises(FetchError) as caught:
            fetch_bytes(url, _visible(public))
        assert caught.value.reason == "refused-address" and internal.hits["/cat.jpg"] == 0
    finally:
        internal.stop()
        public.stop()


def test_a_trickling_server_is_cut_at_the_overall_deadline(loopback):
    # One byte every 50 ms: each read is quick, the whole would take 20 s.
    url = loopback.add("/drip.jpg", BODY[:400], trickle=0.05)
    start = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch_bytes(url, OWNER, timeout=1.0, retries=0)
    assert caught.value.reason == "timeout" and "within 1 s" in str(caught.value)
    assert time.monotonic() - start < 2.5


def test_a_slow_start_is_cut_at_the_deadline_too(loopback):
    url = loopback.add("/late.jpg", BODY, delay=3.0)
    start = time.monotonic()
    with pytest.raises(FetchError) as caught:
        fetch_bytes(url, PUBLIC_ONLY.but(allow_internal=frozenset({loopback.address})),
                    timeout=0.5)
    assert caught.value.reason == "timeout" and time.monotonic() - start < 2


def test_a_lying_content_length_never_lets_more_than_it_or_the_cap_through(loopback):
    # Says 10 bytes, sends 2.5 MB: only the announced 10 are read.
    short = loopback.add("/liar.jpg", BODY * 250, content_length=10)
    assert fetch_bytes(short, OWNER, max_bytes=100_000)[0] == BODY[:10]
    # Says more than the cap: refused from the header.
    big = loopback.add("/big.jpg", BODY, content_length=10**9)
    with pytest.raises(FetchError, match="larger than 100000 bytes") as caught:
        fetch_bytes(big, OWNER, max_bytes=100_000)
    assert caught.value.reason == "too-large"
    # Says more than it sends: a dropped connection, not a short file taken as whole.
    cut = loopback.add("/cut.jpg", BODY, truncate=100)
    with pytest.raises(FetchError) as caught:
        fetch_bytes(cut, OWNER, retries=0)
    assert caught.value.reason == "truncated"


def test_an_endless_stream_without_length_is_cut_at_the_cap(loopback):
    url = loopback.add("/stream.jpg", BODY * 2000, chunked=True)  # 20 MB, close-delimited
    with pytest.raises(FetchError) as caught:
        fetch_bytes(url, OWNER, max_bytes=200_000)
    assert caught.value.reason == "too-large" and "cut while it streamed" in str(caught.value)


def test_one_safe_name_maker_and_nothing_written_outside_the_folder(tmp_path):
    url = "https://h/a/../../etc/passwd?x=1"
    assert safe_file_name(url, ".jpg") == download.safe_file_name(url, ".jpg")
    digest = safe_file_name(url).rsplit("-", 1)[1]
    assert len(digest) == 10 and url_output_name("https://h/p/cat.jpg").startswith("cat-")
    assert len(url_output_name("https://h/p/cat.jpg").rsplit("-", 1)[1]) == len("0123456789.jpg")
    assert path_inside(tmp_path, "cat.jpg") == str(tmp_path / "cat.jpg")
    for bad in ("../cat.jpg", "/etc/passwd", "a/../../cat.jpg", ""):
        with pytest.raises(ValueError):
            path_inside(tmp_path, bad)
    (tmp_path / "link").symlink_to("/tmp")
    with pytest.raises(ValueError):
        path_inside(tmp_path, "link/cat.jpg")
