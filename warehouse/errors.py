"""Errors a user can cause: the CLI prints them as one line and exits non-zero."""

from __future__ import annotations

import re

from warehouse import interrupts


class WarehouseError(Exception):
    """A problem with the user's input or environment, phrased for the user."""


# everything from the first ':' after '://' to the URL's last '@' is the password,
# whatever it holds (an unencoded one may hold ':', '/', '#' and '@')
_URL_PASSWORD = re.compile(
    r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)(?P<pw>[^\s'\"]*)@"
    r"(?=[^@\s'\"]*(?:[\s'\"]|$))")
_KV_PASSWORD = re.compile(r"(?P<head>password\s*=\s*)(?P<pw>'[^']*'|\S+)", re.IGNORECASE)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove passwords from a message: in URLs, in key=value strings and known secrets."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***@", text)
    text = _KV_PASSWORD.sub(lambda m: m.group("head") + "***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def one_line(text: str) -> str:
    """The first meaningful line of an engine's message, for a one-line error."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else str(text)


def did_you_mean(value, known, n: int = 1, cutoff: float = 0.6) -> str:
    """' (did you mean X?)' naming the nearest known values, any case, or ''."""
    import difflib  # only on the error path: start-up stays light

    lowered = {str(k).lower(): str(k) for k in known if k is not None}
    close = difflib.get_close_matches(str(value).lower(), list(lowered), n=n, cutoff=cutoff)
    return f" (did you mean {', '.join(lowered[c] for c in close)}?)" if close else ""


def is_interrupt(exc: BaseException) -> bool:
    """Ctrl-C, however it arrives: Python's KeyboardInterrupt, DuckDB's own error when
    SIGINT cancels a running query (RuntimeError 'Query interrupted', InterruptException),
    or any error after a recorded SIGINT (one raised inside a Python callback of DuckDB's,
    such as an Arrow scan, comes back as a DuckDB error the ingest reports as a source's)."""
    return (isinstance(exc, KeyboardInterrupt) or interrupts.received()
            or type(exc).__name__ == "InterruptException"
            or (isinstance(exc, RuntimeError) and "Query interrupted" in str(exc))
            or isinstance(exc.__context__, KeyboardInterrupt))
