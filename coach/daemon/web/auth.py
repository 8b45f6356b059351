"""The phone page's gate: the secret token (made at first start, kept 0600 in the state dir), the
cookie it becomes, the cross-site check for requests that change something, the brute-force
limit (per client: behind a trusted reverse proxy, the address it forwards) and an access log
that never writes a query string (where the token travels once)."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import platformdirs
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.typedefs import Middleware

from coach.files import atomic_write_text
from coach.store.config import Network

log = logging.getLogger(__name__)

COOKIE = "coach_token"
TOKEN_BYTES = 32  # 256 bits: guessing is hopeless, and the limit below makes it slower still
MAX_FAILURES = 10  # wrong tokens from one address within FAILURE_WINDOW_S...
FAILURE_WINDOW_S = 60.0  # ...lock that address out (429) until the window has passed
SAFE_METHODS = ("GET", "HEAD")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def token_path() -> Path:
    return Path(platformdirs.user_state_dir("coach")) / "web-token"


def load_or_create_token(path: Path | None = None) -> str:
    """The page's token: read from ``path``, or made now and written there (0600, whole or not
    at all) when there is none or it is empty."""
    path = path or token_path()
    try:
        token = path.read_text().strip()
        if token:
            return token
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    atomic_write_text(path, token + "\n", perm=0o600)
    log.info("web: made a new token in %s (`coach web` shows the page's address)", path)
    return token


class FailureLimit:
    """Wrong tokens per remote address, in a sliding window."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = FAILURE_WINDOW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[str, list[float]] = {}

    def _recent(self, peer: str) -> list[float]:
        now = self.clock()
        kept = [t for t in self._failures.get(peer, []) if now - t < self.window_s]
        if kept:
            self._failures[peer] = kept
        else:
            self._failures.pop(peer, None)
        return kept

    def locked(self, peer: str) -> bool:
        return len(self._recent(peer)) >= self.max_failures

    def fail(self, peer: str) -> None:
        self._failures.setdefault(peer, []).append(self.clock())
        if len(self._failures) > 10_000:  # a flood of addresses must not grow memory forever
            self._failures.clear()


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as a proxy writes it: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:5678`; an
    IPv4 address in IPv6 form (a dual-stack socket's `::ffff:127.0.0.1`) as IPv4."""
    t = text.strip()
    if t.startswith("["):
        t = t[1:t.find("]")] if "]" in t else t
    elif t.count(":") == 1:
        t = t.split(":")[0]
    try:
        a = ipaddress.ip_address(t)
    except ValueError:
        return None
    return a.ipv4_mapped or a if isinstance(a, ipaddress.IPv6Address) else a


def client_address(remote: str | None, forwarded: Sequence[str],
                   trusted: Sequence[Network]) -> str:
    """Who a request comes from, for the limit. The connection's own peer, unless that peer is
    a trusted proxy: then its X-Forwarded-For (``forwarded``: each header's value, in order)
    read from the right, skipping trusted proxies, and the first address that is not one. Only
    the right end can be believed (each proxy appends the peer it saw; a client writes anything
    it likes on the left), so a client cannot spoof its way out of the limit, and without
    trusted proxies the header is never read at all."""
    peer = _address(remote or "")
    if peer is None:
        return remote or "?"

    def is_trusted(a: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(a.version == n.version and a in n for n in trusted)

    if not is_trusted(peer):
        return str(peer)
    hops = [h for value in forwarded for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        a = _address(hop)
        if a is None:  # not an address: what a trusted proxy wrote, so this client's own key
            return hop.strip()[:64]
        if not is_trusted(a):
            return str(a)
    return str(peer)  # only proxies (or no header): the request comes from the proxy itself


def _same_origin(request: web.Request) -> bool:
    """A browser says where a request comes from: Sec-Fetch-Site (every current browser) and
    Origin (on every POST). Either, when present, must name this page itself. A client that
    sends neither (curl, a script with the token) is not a browser tricked by another site."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin in (f"{request.scheme}://{request.host}",
                          # behind a TLS proxy the browser's scheme is https, ours http
                          f"https://{request.host}", f"http://{request.host}")
    return True


def gate(token: str, limit: FailureLimit, trusted: Sequence[Network] = ()) -> Middleware:
    """The middleware every request passes: 403 for a cross-site change, 429 for a client
    that guessed too often, 401 without the right token; ``?token=`` once sets the cookie.
    ``trusted``: the reverse proxies whose X-Forwarded-For names the client (client_address)."""
    expected = token.encode()

    def matches(given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), expected)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method not in SAFE_METHODS and not _same_origin(request):
            return web.json_response({"ok": False, "error": "cross-site request refused"},
                                     status=403)
        peer = client_address(request.remote, request.headers.getall("X-Forwarded-For", []),
                              trusted)
        if limit.locked(peer):
            return web.json_response({"ok": False, "error": "too many wrong tokens; wait a "
                                      "minute"}, status=429)
        query = request.query.get("token")
        if matches(request.cookies.get(COOKIE)) and query is None:
            return await handler(request)
        if matches(query):
            # The token leaves the address bar (and the history) at once: the cookie has it.
            target = request.rel_url.with_query(
                [(k, v) for k, v in request.query.items() if k != "token"])
            resp: web.StreamResponse
            if request.method in SAFE_METHODS:
                resp = web.Response(status=303, headers={"Location": str(target)})
            else:
                resp = await handler(request)
            resp.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                            max_age=10 * 365 * 24 * 3600)
            return resp
        if query is not None or request.cookies.get(COOKIE) is not None:
            limit.fail(peer)
            log.warning("web: a wrong token from %s", peer)
        return web.json_response({"ok": False, "error": "this page needs its token: run "
                                  "`coach web` on the coach's machine and open its address"},
                                 status=401)

    return middleware


class AccessLog(AbstractAccessLogger):
    """One line per request, without the query string (the token comes in one, once)."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.debug("web: %s %s %s %d (%.0f ms)", request.remote, request.method,
                          request.path, response.status, time * 1000)
