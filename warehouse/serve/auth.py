"""Who may read: a configured API key, or an Open WebUI admin's session token.

With neither configured, every request is admitted (the server then listens on loopback
only: warehouse/serve/__init__.py). Otherwise a request needs a bearer key whose hash is
in [serve] api_keys, or, with Open WebUI's signing key configured, a session token of a
live admin of a copied Open WebUI user table (in the header or Open WebUI's `token`
cookie); a valid token of anyone else is refused with 403, anything else with 401.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from warehouse.config import Config
from warehouse.errors import WarehouseError
from warehouse.serve import keys, sessions
from warehouse.serve.published import Published


class Gate:
    """Who is admitted. Made when the application is (a bad signing key file stops the
    server before it listens); Admitting puts it in front of every request."""

    def __init__(self, config: Config, published: Published):
        self.hashes = config.api_key_hashes
        self.secret = (sessions.read_secret(config.openwebui_secret_file)
                       if config.openwebui_secret_file else None)
        self.published = published

    def refusal(self, request: Request) -> JSONResponse | None:
        """None for an admitted request, else the answer that refuses it."""
        if not (self.hashes or self.secret):
            return None
        token = keys.bearer(request.headers.get("authorization"))
        if keys.accepted(token, self.hashes):
            return None
        user = (sessions.user_of(token or request.cookies.get("token"), self.secret)
                if self.secret else None)
        if user is None:
            return JSONResponse(
                {"detail": "an API key is needed: send 'Authorization: Bearer <key>' "
                           "(warehouse new-api-key)"
                           + (", or an Open WebUI admin's session token"
                              if self.secret else "")},
                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        try:
            with self.published.cursor() as (con, _snapshot):
                admin = sessions.is_admin(con, user)
        except WarehouseError as exc:  # no published warehouse yet
            return JSONResponse({"detail": str(exc)}, status_code=503)
        if not admin:
            return JSONResponse({"detail": "only Open WebUI's admins may read usage "
                                           "analytics"}, status_code=403)
        return None


class Admitting:
    """The gate as ASGI middleware, outermost: nothing (a kept answer included) is sent
    to a request it refuses."""

    def __init__(self, app, gate: Gate):
        self.app, self.gate = app, gate

    async def __call__(self, scope, receive, send) -> None:
        refusal = self.gate.refusal(Request(scope)) if scope["type"] == "http" else None
        if refusal is None:
            return await self.app(scope, receive, send)
        await refusal(scope, receive, send)
