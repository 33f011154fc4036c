"""Address checks: every private and metadata spelling is refused before any connection."""

from __future__ import annotations

import ipaddress

import pytest

from agentkit.errors import ToolError
from agentkit_web.addresses import check_address, embedded_ipv4, parse_ip_literal
from agentkit_web.fetch import fetch
from agentkit_web.settings import WebSettings

LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "127.0.1",
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "0x7F.0.0.1",
    "0177.0.0.1",
    "017700000001",
    "127.000.000.001",
    "127.0.0.1.",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "[::ffff:0:127.0.0.1]",
    "[64:ff9b::127.0.0.1]",
    "[64:ff9b:1::7f00:1]",
    "[2002:7f00:1::]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
]
PRIVATE_SPELLINGS = [
    "10.0.0.1",
    "012.0.0.1",
    "0xa.1",
    "172.16.5.4",
    "192.168.0.1",
    "3232235521",  # 192.168.0.1
    "169.254.1.1",
    "100.64.0.1",
    "[fe80::1]",
    "[fc00::1]",
    "[fd12:3456::1]",
    "[::ffff:10.0.0.1]",
    "[64:ff9b::10.0.0.1]",
    "[2002:c0a8:1::]",
]
NEVER_SPELLINGS = [
    "0",
    "0.0.0.0",
    "[::]",
    "224.0.0.1",
    "239.255.255.250",
    "[ff02::1]",
    "240.0.0.1",
    "255.255.255.255",
]
METADATA_SPELLINGS = [
    "169.254.169.254",
    "0xa9fea9fe",
    "2852039166",
    "0251.0376.0251.0376",
    "169.254.43518",
    "[::ffff:169.254.169.254]",
    "[::ffff:a9fe:a9fe]",
    "[64:ff9b::169.254.169.254]",
    "[2002:a9fe:a9fe::]",
    "[fd00:ec2::254]",
    "100.100.100.200",
    "168.63.129.16",
    "192.0.0.192",
    "169.254.170.2",
    "metadata.google.internal",
    "METADATA.Google.Internal.",
    "metadata",
    "instance-data",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "93.184.216.34", "[2606:4700:4700::1111]", "[2002:808:808::]"]


def _address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    address = parse_ip_literal(host)
    assert address is not None, host
    return address


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_loopback_spellings_are_read_as_loopback(host: str) -> None:
    address = _address(host)
    reason = check_address(address)
    assert reason is not None and "loopback" in reason
    assert check_address(address, allow_private=True) is None


@pytest.mark.parametrize("host", PRIVATE_SPELLINGS)
def test_private_spellings(host: str) -> None:
    address = _address(host)
    assert check_address(address) is not None
    assert check_address(address, allow_private=True) is None


@pytest.mark.parametrize("host", NEVER_SPELLINGS)
def test_unspecified_multicast_reserved_are_refused_even_when_private_is_allowed(host: str) -> None:
    assert check_address(_address(host), allow_private=True) is not None


@pytest.mark.parametrize("host", [h for h in METADATA_SPELLINGS if parse_ip_literal(h) is not None])
def test_metadata_addresses_are_refused_even_when_private_is_allowed(host: str) -> None:
    reason = check_address(_address(host), allow_private=True)
    assert reason is not None and "metadata" in reason


@pytest.mark.parametrize("host", PUBLIC)
def test_public_addresses_pass(host: str) -> None:
    assert check_address(_address(host)) is None


def test_names_are_not_literals_and_bad_numbers_are_refused() -> None:
    assert parse_ip_literal("example.com") is None
    assert parse_ip_literal("1.2.3.4.nip.io") is None
    assert parse_ip_literal("0x7f.example") is None
    for bad in ("999.1.1.1", "1.2.3.4.5", "08.0.0.1", "0xfffffffff"):
        with pytest.raises(ToolError, match="not a valid IP address"):
            parse_ip_literal(bad)


def test_embedded_ipv4_forms() -> None:
    def inner(text: str) -> list[str]:
        return [str(a) for a in embedded_ipv4(ipaddress.ip_address(text))]

    assert inner("::ffff:1.2.3.4") == ["1.2.3.4"]
    assert inner("::1.2.3.4") == ["1.2.3.4"]
    assert inner("64:ff9b::1.2.3.4") == ["1.2.3.4"]
    assert inner("2002:102:304::1") == ["1.2.3.4"]
    assert "127.0.0.1" in inner("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert inner("2606:4700::1") == []


ALL_REFUSED = LOOPBACK_SPELLINGS + PRIVATE_SPELLINGS + NEVER_SPELLINGS + METADATA_SPELLINGS


@pytest.mark.parametrize("host", ALL_REFUSED)
async def test_fetch_refuses_before_any_lookup_or_connection(host: str, recorder, resolver) -> None:
    settings = WebSettings(resolver=resolver, transport=recorder)
    with pytest.raises(ToolError, match=r"refusing to fetch|not a valid|invalid URL"):
        await fetch(f"http://{host}:8080/latest/meta-data/", settings)
    assert recorder.requests == []
    assert resolver.calls == []  # numeric spellings and metadata names never reach DNS


@pytest.mark.parametrize("host", METADATA_SPELLINGS)
async def test_metadata_is_refused_even_with_private_hosts_allowed(host: str, recorder, resolver) -> None:
    settings = WebSettings(resolver=resolver, transport=recorder, allow_private_hosts=True)
    with pytest.raises(ToolError, match=r"cloud metadata|invalid URL"):
        await fetch(f"http://{host}/computeMetadata/v1/", settings)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "answer",
    [
        ["10.0.0.7"],
        ["127.0.0.1"],
        ["::1"],
        ["93.184.216.34", "192.168.1.1"],
        ["::ffff:169.254.169.254"],
        ["fd00:ec2::254"],
    ],
)
async def test_names_resolving_to_forbidden_addresses_are_refused(
    answer: list[str], recorder, resolver
) -> None:
    resolver.table["sneaky.test"] = answer
    with pytest.raises(ToolError, match=r"refusing to fetch from 'sneaky.test'"):
        await fetch("https://sneaky.test/", WebSettings(resolver=resolver, transport=recorder))
    assert resolver.calls == ["sneaky.test"]
    assert recorder.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/x",
        "gopher://127.0.0.1:6379/_INFO",
        "javascript:alert(1)",
        "data:text/plain,hi",
        "//example.com/",
        "http:///nohost",
        "dict://127.0.0.1:11211/stat",
    ],
)
async def test_only_http_and_https(url: str, recorder, resolver) -> None:
    with pytest.raises(ToolError, match=r"only http and https|has no host|invalid URL"):
        await fetch(url, WebSettings(resolver=resolver, transport=recorder))
    assert recorder.requests == [] and resolver.calls == []


async def test_userinfo_tricks_are_parsed_like_a_browser(recorder, resolver) -> None:
    resolver.table["public.test"] = ["93.184.216.34"]
    with pytest.raises(ToolError, match="loopback"):
        await fetch("http://public.test@127.0.0.1/", WebSettings(resolver=resolver, transport=recorder))
    with pytest.raises(ToolError, match="loopback"):
        await fetch("http://public.test:80@0x7f.1/", WebSettings(resolver=resolver, transport=recorder))
    assert recorder.requests == []


async def test_unresolvable_host_is_a_clear_error(recorder, resolver) -> None:
    with pytest.raises(ToolError, match=r"cannot resolve host 'nowhere.test'"):
        await fetch("http://nowhere.test/", WebSettings(resolver=resolver, transport=recorder))


def test_ipv4_mapped_public_addresses_are_refused_too() -> None:
    """Conservative: ::/8 is reserved; a resolver has no business answering with it."""
    assert check_address(_address("[::ffff:8.8.8.8]")) == "a reserved address"
