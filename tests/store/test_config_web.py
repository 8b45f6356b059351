"""config.yaml's `web: {listen: HOST:PORT, trusted_proxies: [...]}`: off when absent, 127.0.0.1
unless a host is given, no proxy trusted unless listed, and every mistake a one-line
FILE:LINE:COL error like the rest of the config."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from coach.core.errors import CoachError
from coach.store.config import parse_config


@pytest.mark.parametrize("text, listen", [
    ("", None),
    ("mpris: false\n", None),
    ("web: {listen: 0.0.0.0:8080}\n", ("0.0.0.0", 8080)),
    ("web: {listen: 192.168.1.20:80}\n", ("192.168.1.20", 80)),
    ("web: {listen: 8080}\n", ("127.0.0.1", 8080)),
    ("web: {listen: ':9000'}\n", ("127.0.0.1", 9000)),
    ("web: {listen: '[::]:8080'}\n", ("::", 8080)),
    ("web: {listen: pi.local:8080}\n", ("pi.local", 8080)),
])
def test_web_listen(text: str, listen: tuple[str, int] | None) -> None:
    assert parse_config(text, "config.yaml").web_listen == listen


@pytest.mark.parametrize("text, message", [
    ("web: {listen: 0.0.0.0:99999}\n",
     'config.yaml:1:15: error: web.listen "0.0.0.0:99999" must be HOST:PORT with a port from 1 '
     "to 65535, like 0.0.0.0:8080 or 127.0.0.1:8080"),
    ("web: {listen: 'a b:80'}\n",
     'config.yaml:1:15: error: web.listen "a b:80" must be HOST:PORT with a port from 1 to '
     "65535, like 0.0.0.0:8080 or 127.0.0.1:8080"),
    ("web: {listen: '::1:80'}\n",
     'config.yaml:1:15: error: web.listen "::1:80" must be HOST:PORT with a port from 1 to '
     "65535, like 0.0.0.0:8080 or 127.0.0.1:8080"),
    ("web: {}\n",
     "config.yaml:1:6: error: web needs `listen: HOST:PORT`, like `listen: 0.0.0.0:8080` (every "
     "address) or `listen: 127.0.0.1:8080` (this machine only)"),
    ("web: {listen: 8080, port: 1}\n", 'config.yaml:1:21: error: unknown key "port" in web'),
    ("web: 8080\n", None),
    ("web:\n  listen: 8080\n  trusted_proxies: [127.0.0.1, proxy.lan]\n",
     'config.yaml:3:32: error: web.trusted_proxies "proxy.lan" must be an IP address or a '
     "network, like 127.0.0.1, ::1 or 192.168.1.0/24 (the proxy's address as coach sees it, "
     "not a host name)"),
    ("web: {listen: 8080, trusted_proxies: 10.0.0.0/33}\n",
     'config.yaml:1:38: error: web.trusted_proxies "10.0.0.0/33" must be an IP address or a '
     "network, like 127.0.0.1, ::1 or 192.168.1.0/24 (the proxy's address as coach sees it, "
     "not a host name)"),
    ("web: {listen: 8080, trusted_proxies: []}\n",
     "config.yaml:1:38: error: web.trusted_proxies must not be an empty list"),
    ("web: {listen: 8080, trusted_proxies: {nginx: 127.0.0.1}}\n",
     "config.yaml:1:38: error: web.trusted_proxies must be a list, got a mapping"),
])
def test_web_mistakes_are_one_line_each(text: str, message: str | None) -> None:
    with pytest.raises(CoachError) as e:
        parse_config(text, "config.yaml")
    assert len(e.value.diagnostics) == 1
    if message is not None:
        assert str(e.value) == message
    assert "Traceback" not in str(e.value)


@pytest.mark.parametrize("text, proxies", [
    ("web: {listen: 8080}\n", ()),
    ("web: {listen: 8080, trusted_proxies: 127.0.0.1}\n", (ip_network("127.0.0.1/32"),)),
    ("web:\n  listen: 8080\n  trusted_proxies:\n    - 127.0.0.1\n    - '::1'\n"
     "    - 192.168.1.0/24\n",
     (ip_network("127.0.0.1"), ip_network("::1"), ip_network("192.168.1.0/24"))),
    ("web: {listen: 8080, trusted_proxies: [192.168.1.7/24]}\n",  # the host's network
     (ip_network("192.168.1.0/24"),)),
])
def test_web_trusted_proxies(text: str, proxies: tuple) -> None:
    assert parse_config(text, "config.yaml").web_trusted_proxies == proxies
