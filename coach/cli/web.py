"""`coach web`: the phone page's full address with its token, and a QR code of it to scan once
(the phone then keeps the token in a cookie). The QR code is segno's: pure Python with no
dependencies, maintained, and it draws straight to a terminal (qrcode needs Pillow for that)."""

from __future__ import annotations

import argparse
import socket
import sys

from coach.core.errors import CoachError
from coach.daemon.web.auth import load_or_create_token, token_path
from coach.store.config import default_config_path, load_config

ANY_ADDRESS = ("0.0.0.0", "::", "")


def lan_address() -> str:
    """This machine's address on its LAN (the route a phone's packets come back by): a UDP
    socket's connect() sends nothing, it only picks the outgoing address. No route: the host
    name, which a Pi also answers to as NAME.local."""
    for probe in (("10.255.255.255", 1), ("192.168.255.255", 1)):
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(probe)
                addr = s.getsockname()[0]
                if not addr.startswith("127."):
                    return addr
        except OSError:
            continue
    return f"{socket.gethostname()}.local"


def page_url(host: str, port: int, token: str) -> str:
    shown = lan_address() if host in ANY_ADDRESS else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/?token={token}"


def cmd_web(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    if config.web_listen is None:
        where = args.config or default_config_path()
        raise CoachError.at(str(where), 0, 0, "the page is off: add `web: {listen: 0.0.0.0:8080}` "
                            "(every address) or `web: {listen: 127.0.0.1:8080}` and restart the "
                            "daemon")
    host, port = config.web_listen
    url = page_url(host, port, load_or_create_token(token_path()))
    print(url)
    if not args.no_qr:
        import segno
        segno.make(url, error="m").terminal(out=sys.stdout, compact=True)
    if host in ("127.0.0.1", "localhost", "::1"):
        print(f"(the page answers only on this machine: `web: {{listen: 0.0.0.0:{port}}}` opens "
              "it to the network)")
    return 0
