"""The shared URL validator: judged the way requests connects, refused before anything is sent."""

from __future__ import annotations

import pytest

from intacct_sync._http.urls import check_url, is_local_host, origin, same_origin
from intacct_sync.errors import ConfigError, ProtocolError, UnsafeUrlError


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://api.intacct.com/ia/xml/xmlgw.phtml",
            "https://api.intacct.com/ia/xml/xmlgw.phtml",
        ),
        ("https://API.Intacct.COM:443/x", "https://api.intacct.com:443/x"),
        (
            "https://na12.intacct.com/ia/xml/xmlgw.phtml",
            "https://na12.intacct.com/ia/xml/xmlgw.phtml",
        ),
        ("https://intacct.com./x", "https://intacct.com./x"),  # the FQDN form (intacct-api.md §1)
        ("https://acme.my.salesforce.com/services", "https://acme.my.salesforce.com/services"),
    ],
)
def test_https_on_the_default_port_is_accepted_as_requests_will_send_it(
    url: str, expected: str
) -> None:
    assert check_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        # urlsplit says api.intacct.com; requests connects to "evil" (issue 13 item 1)
        ("https://evil\\@api.intacct.com/ia/xml/xmlgw.phtml", "backslash"),
        ("https://evil\\.intacct.com/ia/xml/xmlgw.phtml", "backslash"),
        ("https://user:pw@api.intacct.com/x", "userinfo"),
        ("https://api.intacct.com%2F@evil.test/x", "userinfo"),
        ("https://api.intacct.com:8443/x", "port"),
        ("http://api.intacct.com/x", "https is required"),
        ("ftp://api.intacct.com/x", "https is required"),
        ("https://api.intacct.com /x", "spaces"),
        ("https://api.intacct.com\t/x", "control"),
        ("https://api.intacct.com\n.evil.test/x", "control"),
        ("https:///x", "URL"),
        ("", "empty"),
        ("not a url", "spaces"),
        ("https://ev!l.test/x", "URL"),
    ],
)
def test_unsafe_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(UnsafeUrlError) as info:
        check_url(url)
    assert reason.lower() in str(info.value).lower()
    # Callers catch either: a refused configured URL, or a refused URL a server sent back.
    assert issubclass(UnsafeUrlError, ConfigError) and issubclass(UnsafeUrlError, ProtocolError)
    assert "pw@" not in str(info.value) and "pw@" not in info.value.url


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/ia/xml/xmlgw.phtml",
        "http://127.5.6.7:1/x",
        "http://[::1]:9/x",
        "http://localhost:5000/x",
        "https://localhost:8443/x",
        "http://intacct.sandbox.test/ia/xml/xmlgw.phtml",  # the replayed cassettes' host
        "http://app.localhost:80/x",
    ],
)
def test_a_local_sandbox_may_use_http_and_any_port_only_when_allowed(url: str) -> None:
    assert check_url(url, allow_loopback_http=True)
    with pytest.raises(UnsafeUrlError):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1.evil.test.com/x",
        "http://localhost.evil.com/x",
        "http://10.0.0.1/x",
        "http://0x7f000001/x",
        "http://user@127.0.0.1:80/x",
    ],
)
def test_things_that_only_look_local_are_not(url: str) -> None:
    with pytest.raises(UnsafeUrlError):
        check_url(url, allow_loopback_http=True)


def test_is_local_host() -> None:
    assert is_local_host("127.0.0.1") and is_local_host("[::1]") and is_local_host("LOCALHOST")
    assert not is_local_host("api.intacct.com") and not is_local_host("10.0.0.1")


@pytest.mark.parametrize(
    ("url", "base", "same"),
    [
        (
            "https://x.my.salesforce.com/services/data/v62.0/query/01g-2000",
            "https://x.my.salesforce.com",
            True,
        ),
        ("https://X.MY.salesforce.com:443/a", "https://x.my.salesforce.com/b", True),
        ("https://x.my.salesforce.com./a", "https://x.my.salesforce.com", True),
        ("http://x.my.salesforce.com/a", "https://x.my.salesforce.com", False),
        ("https://x.my.salesforce.com:444/a", "https://x.my.salesforce.com", False),
        ("https://evil.test/a", "https://x.my.salesforce.com", False),
        ("https://evil.test\\@x.my.salesforce.com/a", "https://x.my.salesforce.com", False),
        ("https://x.my.salesforce.com@evil.test/a", "https://x.my.salesforce.com", False),
        ("not a url", "https://x.my.salesforce.com", False),
    ],
)
def test_same_origin_compares_scheme_host_and_port_as_requests_sees_them(
    url: str, base: str, same: bool
) -> None:
    assert same_origin(url, base) is same


def test_origin_fills_in_the_default_port() -> None:
    assert origin("https://API.intacct.com/x") == ("https", "api.intacct.com", 443)
    assert origin("http://127.0.0.1/x") == ("http", "127.0.0.1", 80)
