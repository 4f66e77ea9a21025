"""`missionctl serve`: the grid in a browser, through textual-serve.

Each browser tab runs its own `missionctl app` behind a WebSocket; the org keeps
running in its hub either way. A web view onto agents' terminals can type into
them, so it is remote code execution for whoever reaches it: loopback by default,
and any other address needs a secret token, checked on every request (the page,
its scripts, the WebSocket). The page's `?token=` is kept in an HttpOnly,
SameSite=Strict cookie so the scripts and the WebSocket carry it. On loopback the
Host must be a loopback name (DNS rebinding) and, anywhere, a WebSocket's Origin
must be the page's own (another site's page cannot drive it).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import shlex
import socket
import sys
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from textual_serve.server import Server

from missionctl import workspace
from missionctl.cliargs import parser
from missionctl.errors import UserError

DEFAULT_PORT = 8421
TOKEN_ENV = "MISSIONCTL_SERVE_TOKEN"
COOKIE = "missionctl_token"
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """Whether binding `host` serves this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GuardedServer(Server):
    """textual-serve's server, with the token, Host and Origin checks on every request."""

    def __init__(
        self,
        command: str,
        host: str,
        port: int,
        token: str | None,
        title: str,
        public_url: str | None = None,
    ) -> None:
        super().__init__(command, host=host, port=port, title=title, public_url=public_url)
        self.token = token
        self.loopback = is_loopback(host)
        self._fixed_url = public_url

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refusal = self.refusal(request)
        if refusal is not None:
            raise web.HTTPForbidden(text=f"missionctl serve: {refusal}\n")
        response = await handler(request)
        if self.token and request.query.get("token") and isinstance(response, web.Response):
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="Strict", path="/")
        return response

    def refusal(self, request: web.Request) -> str | None:
        """Why `request` is refused, or None. Pure on the request's headers and query."""
        hostname = urllib.parse.urlsplit(f"//{request.host}").hostname or ""
        if self.loopback and hostname not in LOOPBACK_NAMES:
            return "this server answers loopback names only (localhost, 127.0.0.1)"
        if request.headers.get("Upgrade", "").lower() == "websocket":
            origin = request.headers.get("Origin")
            if origin is not None and urllib.parse.urlsplit(origin).netloc != request.host:
                return "a WebSocket from another site's page"
        if self.token is None:
            return None
        offered = (
            request.query.get("token")
            or request.cookies.get(COOKIE)
            or request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        )
        if not offered or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return "a token is needed: open the URL `missionctl serve` printed"
        return None

    async def handle_index(self, request: web.Request) -> Any:
        """The page, its WebSocket and scripts at the address the browser used (a server
        bound to 0.0.0.0 is reached by some other name), unless --public-url says."""
        if self._fixed_url is None:
            self.public_url = f"{request.scheme}://{request.host}"
        return await super().handle_index(request)

    async def on_startup(self, app: web.Application) -> None:
        """Say where to point a browser (textual-serve's banner would show the command)."""


HELP = """\
Serve the grid in a browser (textual-serve). Loopback only unless --host says;
any other address needs a token (made and printed if not given), checked on
every request. Each browser tab runs its own app; the org keeps running."""


def main(argv: list[str]) -> int:
    ap = parser("serve", HELP)
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    ap.add_argument(
        "--token",
        help=f"the secret a browser must present (or ${TOKEN_ENV}); made if needed and not given",
    )
    ap.add_argument("--public-url", help="the URL browsers use, behind a proxy (https://...)")
    args = ap.parse_args(argv)
    if not 0 < args.port < 65536:
        raise UserError(f"--port {args.port}: give a port from 1 to 65535")
    ws = workspace.find()
    from missionctl.agents.org.hub import Hub

    org_name = Hub(ws).org.name  # a bad org.toml is one line now, not in every tab
    token = args.token or os.environ.get(TOKEN_ENV) or None
    if token is not None and len(token) < 16:
        raise UserError("--token: use at least 16 characters (or leave it out to get one)")
    if token is None and not is_loopback(args.host):
        token = secrets.token_urlsafe(24)
    try:  # free now? Say so before textual-serve's own bind, in one line if not.
        socket.create_server((args.host, args.port)).close()
    except OSError as exc:
        raise UserError(
            f"cannot serve on {args.host}:{args.port}: {exc.strerror}; pick another --port"
        ) from None
    command = (
        f"cd {shlex.quote(str(ws.root))} && exec {shlex.quote(sys.executable)}"
        " -m missionctl app --no-start"
    )
    server = GuardedServer(
        command, args.host, args.port, token, f"missionctl · {org_name}", args.public_url
    )
    shown = {"127.0.0.1": "localhost", "::1": "localhost", "0.0.0.0": socket.gethostname(),
             "::": socket.gethostname()}.get(args.host, args.host)  # fmt: skip
    url = args.public_url or f"http://{shown}:{args.port}"
    print(
        f"Serving the grid of org {org_name!r} on {url}/"
        + (f"?token={token}" if token else "")
        + "\nOpen it in a browser; Ctrl+C stops serving (the org keeps running).",
        flush=True,
    )
    server.serve()
    return 0
