"""The HTTP API: the reports and the warehouse's health, read from the published snapshot.

Every report is an endpoint whose query parameters are the options it declares
(warehouse/reports/catalog.py), so the OpenAPI document lists exactly what each report
honours; any other parameter is refused with the report's own one-line message, as on
the command line. No endpoint runs SQL given by the client.
"""

from __future__ import annotations

import functools
import json
import time

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from warehouse import health, journal, output, reports
from warehouse.config import Config
from warehouse.errors import WarehouseError, did_you_mean
from warehouse.reports.catalog import REPORTS
from warehouse.reports.options import OPTIONS
from warehouse.serve import answers, auth, litellm, openwebui
from warehouse.serve.published import Published

FORMATS = ("json", "csv")
# the live dashboard loads nothing but this server's own files (Vega needs eval)
CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
       "style-src 'unsafe-inline'; img-src 'self' data:")
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


class Refused(WarehouseError):
    """A request the API cannot answer as asked: 400 with a one-line reason."""

    status = 400


def create(config: Config, published: Published | None = None,
           tz: str = "UTC") -> FastAPI:
    """The application for `config`'s warehouse; `tz` buckets Open WebUI's answers."""
    published = published or Published(config.db)
    app = FastAPI(title="usage-warehouse", docs_url=None, redoc_url=None,
                  description="LLM usage from Open WebUI and LiteLLM, answered from the "
                              "published warehouse snapshot.")

    # added first, so it runs inside the admission below (the last added is outermost):
    # only an admitted request reaches a kept answer
    app.add_middleware(answers.Answers, identity=lambda: _identity_of(published))
    app.add_middleware(auth.Admitting, gate=auth.Gate(config, published))

    @app.exception_handler(WarehouseError)
    async def refused(_request: Request, exc: WarehouseError):
        return JSONResponse({"detail": str(exc)}, status_code=getattr(exc, "status", 400))

    @app.get("/api/health", summary="The served snapshot and how fresh each source's "
                                    "data is")
    def health_endpoint():
        with published.cursor() as (con, snapshot):
            watermarks, sources = health.sources(con, journal.last_checked(published.path))
        return {"snapshot": {"published_at": snapshot.published_at,
                             "age_seconds": round(time.time() - snapshot.identity[2] / 1e9, 1)},
                "sources": sources, "watermarks": watermarks}

    @app.get("/api/reports", summary="The reports and the options each one takes")
    def report_list():
        return [{"name": name, "description": spec.description,
                 "options": sorted(spec.honoured(None)), "compat": sorted(spec.compat)}
                for name, spec in REPORTS.items()]

    for name, spec in REPORTS.items():
        app.add_api_route(f"/api/reports/{name}", _report_endpoint(name, config, published),
                          methods=["GET"], summary=spec.description,
                          openapi_extra={"parameters": _parameters(spec)},
                          response_model=None)

    @app.get("/api/charts/{name}", summary="A report's chart as a Vega-Lite spec (its "
                                           "options as query parameters)")
    def chart(name: str, request: Request):
        from warehouse import charts

        if name not in REPORTS:
            raise _unknown(name)
        filters = reports.resolve(name, _options(list(request.query_params.multi_items())))
        return charts.spec(published.run(name, filters, config.pseudonymize), filters)

    @app.get("/", include_in_schema=False)
    def dashboard():
        return HTMLResponse(_dashboard_page(), headers={"Content-Security-Policy": CSP})

    @app.get("/static/vega.js", include_in_schema=False)
    def vega():
        return Response(_vega_bundle(), media_type="text/javascript",
                        headers={"Cache-Control": "max-age=86400"})

    app.include_router(openwebui.router(config, published, tz))
    app.include_router(litellm.router(config, published))

    @app.get("/api/reports/{name}", include_in_schema=False)
    def unknown_report(name: str):
        raise _unknown(name)

    return app


def _report_endpoint(name: str, config: Config, published: Published):
    def endpoint(request: Request):
        items = list(request.query_params.multi_items())
        fmt = _format([v for k, v in items if k == "format"])
        filters = reports.resolve(name, _options(items))
        with published.cursor() as (con, snapshot):
            result = reports.run(con, name, filters, config.pseudonymize)
        headers = {"X-Warehouse-Snapshot": snapshot.published_at}
        if fmt == "csv":
            return Response(output.to_csv(result.columns, result.rows), headers=headers,
                            media_type="text/csv; charset=utf-8")
        body = {"report": name, "snapshot": snapshot.published_at,
                "columns": result.columns, "notes": result.notes,
                "rows": [{c: output.plain(v) for c, v in zip(result.columns, row,
                                                              strict=True)}
                         for row in result.rows]}
        return Response(json.dumps(body, ensure_ascii=False), headers=headers,
                        media_type="application/json")

    endpoint.__name__ = "report_" + name.replace("-", "_")
    return endpoint


def _identity_of(published: Published):
    try:
        return published.current().identity
    except WarehouseError:
        return None


@functools.cache
def _dashboard_page() -> str:
    from importlib import resources

    return resources.files("warehouse.serve").joinpath("dashboard.html").read_text()


@functools.cache
def _vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed, from vl-convert (as the dashboard file embeds
    them): the page works on a network without the internet."""
    import vl_convert as vlc

    from warehouse.charts import VEGA_LITE

    return vlc.javascript_bundle(vl_version=VEGA_LITE)


def _options(items: list[tuple[str, str]]) -> dict:
    """Query parameters as report options (reports.resolve checks them): a repeatable
    option collects its values, a flag is true or false, any other is given once."""
    given: dict = {}
    for key, value in items:
        if key == "format":
            continue
        name = key.replace("-", "_")
        option = OPTIONS.get(name)
        if option is not None and option.kind == "repeat":
            given.setdefault(name, []).append(value)
            continue
        if name in given:
            raise Refused(f"option {key!r} is given more than once")
        if option is not None and option.kind == "flag":
            lowered = value.strip().lower()
            if lowered not in _TRUE + _FALSE:
                raise Refused(f"option {key!r} is true or false, not {value!r}")
            value = lowered in _TRUE
        given[name] = value
    return given


def _format(values: list[str]) -> str:
    if len(values) > 1:
        raise Refused("format is given more than once")
    fmt = (values[0] if values else "json").strip().lower()
    if fmt not in FORMATS:
        raise Refused(f"format {values[0]!r} is not one of {', '.join(FORMATS)}"
                      + did_you_mean(fmt, FORMATS))
    return fmt


def _unknown(name: str) -> Refused:
    error = Refused(f"unknown report {name!r}" + did_you_mean(name, REPORTS)
                    + f" (reports: {', '.join(REPORTS)})")
    error.status = 404
    return error


_SCHEMAS = {"int": {"type": "integer"}, "number": {"type": "number"},
            "flag": {"type": "boolean"}, "date": {"type": "string"},
            "text": {"type": "string"}}


def _parameters(spec) -> list[dict]:
    """The OpenAPI query parameters of a report: its declared options, and format."""
    out = [{"name": "format", "in": "query", "required": False,
            "schema": {"type": "string", "enum": list(FORMATS), "default": "json"}}]
    for name in sorted(spec.honoured(None) | set().union(*spec.compat.values())):
        option = OPTIONS[name]
        if option.kind == "repeat":
            schema = {"type": "array", "items": {"type": "string"}}
        elif option.kind == "choice":
            schema = {"enum": sorted(spec.compat) if name == "compat"
                      else list(spec.choices.get(name, option.choices))}
        else:
            schema = dict(_SCHEMAS[option.kind])
        if option.default not in (None, (), False):
            schema["default"] = output.plain(option.default)
        out.append({"name": name, "in": "query", "required": False,
                    "description": option.help, "schema": schema})
    return out
