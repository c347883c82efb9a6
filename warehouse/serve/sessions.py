"""Open WebUI's own session tokens, so its admin pages can read from the warehouse.

Open WebUI signs a session as an HS256 JWT with its WEBUI_SECRET_KEY, the user's id in
the `id` claim. Given that key ([serve] openwebui_secret_key_file), the server accepts
such a token in place of an API key (header or Open WebUI's `token` cookie) when it is
valid, unexpired, and names a user who is an admin of a copied Open WebUI user table in
the served snapshot; a valid token of anyone else is refused with 403. Revocations Open
WebUI keeps in Redis are not seen: a token stays good until it expires or its user is no
longer an admin in the copy.
"""

from __future__ import annotations

from pathlib import Path

from warehouse.errors import WarehouseError

ALGORITHM = "HS256"  # Open WebUI's (utils/auth.py)


def read_secret(path: Path) -> str:
    """The key in `path` (Open WebUI's .webui_secret_key holds it the same way)."""
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        raise WarehouseError(f"[serve] openwebui_secret_key_file: cannot read {path}: "
                             f"{exc.strerror}") from None
    if not secret:
        raise WarehouseError(f"[serve] openwebui_secret_key_file: {path} is empty")
    return secret


def user_of(token: str | None, secret: str) -> str | None:
    """The user id a valid, unexpired session token names; None for anything else."""
    import jwt

    if not token:
        return None
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM])
    except jwt.PyJWTError:
        return None
    user = claims.get("id")
    return user if isinstance(user, str) and user else None


def is_admin(con, user_id: str) -> bool:
    """Whether an Open WebUI source of the snapshot has `user_id` as a live admin."""
    return bool(con.execute(
        "SELECT EXISTS (SELECT 1 FROM core.users WHERE user_id = ? AND role = 'admin' "
        "AND NOT deleted_in_source AND source_name IN (SELECT source_name FROM "
        "_warehouse.source_tables WHERE source_kind = 'openwebui'))",
        [user_id]).fetchone()[0])
