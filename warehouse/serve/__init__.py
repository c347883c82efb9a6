"""`warehouse serve`: the warehouse over HTTP, read-only, following each publish.

FastAPI on uvicorn (the stack Open WebUI and LiteLLM run on), imported only by this
command: every other command starts without them. The server binds to loopback unless
told otherwise, and refuses any other address while no API key is configured, since
anyone who can reach it could then read every report.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from pathlib import Path

from warehouse.config import Config
from warehouse.errors import WarehouseError

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8787


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        raise WarehouseError(f"--host {host!r} is not an IP address (e.g. 127.0.0.1, or "
                             "0.0.0.0 for every interface)") from None


def check_bind(host: str, config: Config) -> None:
    if not is_loopback(host) and not (config.api_key_hashes or config.openwebui_secret_file):
        raise WarehouseError(
            f"--host {host} is reachable from other machines, but no API key is configured,"
            " so anyone there could read every report: add one to [serve] api_keys "
            "(warehouse new-api-key prints one), or serve on 127.0.0.1")


def listening_socket(host: str, port: int) -> socket.socket:
    """The bound socket, so that a port in use is a one-line error before anything
    starts (and port 0 picks a free one, which the start line names)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit it: an answer's head and body are sent at once
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise WarehouseError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def local_zone() -> str:
    """This machine's time zone by its IANA name, found as Open WebUI finds it (TZ, then
    /etc/localtime's link), UTC for a machine on UTC without a name."""
    zone = os.environ.get("TZ", "").lstrip(":")
    if zone:
        return zone
    target = str(Path("/etc/localtime").resolve())
    if "/zoneinfo/" in target:
        return target.split("/zoneinfo/", 1)[1]
    if time.timezone == 0 and not time.daylight:
        return "UTC"
    raise WarehouseError("this machine's time zone has no IANA name (TZ is unset and "
                         "/etc/localtime is no link into a zoneinfo folder): pass --tz, "
                         "e.g. --tz Europe/Berlin")


def serve(config: Config, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          quiet: bool = False, started=None, tz: str | None = None) -> None:
    """Serve until interrupted. `started(url)` is told the address once it listens;
    `tz` is the zone of Open WebUI's buckets (default: this machine's)."""
    import uvicorn

    from warehouse.reports import time_zone
    from warehouse.serve import app as app_module

    tz = tz or local_zone()
    time_zone(tz)  # a one-line error for an unknown zone, before anything listens
    check_bind(host, config)
    sock = listening_socket(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}"
    server = uvicorn.Server(uvicorn.Config(
        app_module.create(config, tz=tz), log_level="warning" if quiet else "info",
        access_log=not quiet, server_header=False, proxy_headers=False))
    if started:
        started(url)
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
