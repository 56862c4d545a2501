"""The migration's worker never fetches from internal addresses (SSRF) and never follows redirects."""

from __future__ import annotations

import pytest

from crm_apps.vtiger.migration import Source, SourceError
from saas.http import address_is_public, outbound_url_problem


class Recorder:
    """Stands in for requests.Session only to prove no request is made; nothing is answered."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def get(self, url: str, **kwargs):
        self.calls.append((url, kwargs))
        raise AssertionError("no request may be made")

    post = get


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000",
        "http://localhost/vtiger",
        "http://10.0.0.5",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:6379",
        "http://[::ffff:127.0.0.1]",
        "ftp://crm.example.com",
        "http://0.0.0.0",
    ],
)
def test_private_or_odd_targets_are_refused_before_any_request(settings, url):
    settings.VTIGER_ALLOW_PRIVATE = False
    recorder = Recorder()
    source = Source(url, "admin@example.com", "key", http=recorder)

    with pytest.raises(SourceError, match="refused"):
        source.login()
    with pytest.raises(SourceError, match="refused"):
        source.get("listtypes")
    assert recorder.calls == []


def test_public_addresses_pass_and_private_ones_are_named():
    assert address_is_public("93.184.215.14")
    assert not address_is_public("192.168.1.10")
    assert not address_is_public("::ffff:10.1.2.3")
    assert outbound_url_problem("http://127.0.0.1", allow_private=True) is None
    assert outbound_url_problem("gopher://x", allow_private=True) == "not an http(s) address"
    assert outbound_url_problem("http://127.0.0.1", allow_private=False) == "a private or local address"
