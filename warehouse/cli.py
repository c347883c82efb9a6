"""The `warehouse` command: option parsing and wiring only; the work lives in the library."""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from warehouse import config as config_module
from warehouse import interrupts, logs
from warehouse.errors import WarehouseError, is_interrupt, redact
from warehouse.reports.catalog import FILTERS, REPORTS, takers
from warehouse.reports.options import OPTIONS


def user_errors(func):
    """Turn a WarehouseError into a one-line message and exit 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except WarehouseError as exc:
            error = click.ClickException(redact(str(exc)))
            error.exit_code = getattr(exc, "exit_code", 1)
            raise error from None

    return wrapper


def _config(ctx: click.Context, reading: bool = False) -> config_module.Config:
    """The config; `reading`: the warehouse must exist (else say which config was used,
    or that none was found)."""
    cfg = config_module.load(ctx.obj["config"], ctx.obj["db"])
    if reading and not cfg.db.exists():
        raise WarehouseError(config_module.missing_warehouse(cfg))
    return cfg


def _check_outputs(cfg: config_module.Config, **targets) -> None:
    """Refuse, before any work, an output onto the warehouse, its files or a source."""
    from warehouse import files

    sqlite = [s.url.path for s in cfg.sources.values() if s.url.dialect == "sqlite"]
    guarded = files.protected(cfg.db, sqlite)
    for option, target in targets.items():
        if target:
            files.check_output("--" + option, target, guarded)


def _wait_options(func):
    """--wait [--timeout SECONDS]: queue behind a job that is writing, for at most
    SECONDS; the command gets `wait` as False, True (as long as it takes) or seconds."""

    @functools.wraps(func)
    def wrapper(*args, wait: bool, timeout: float | None, **kwargs):
        if timeout is not None and not wait:
            raise click.UsageError("--timeout needs --wait")
        return func(*args, wait=wait if timeout is None else timeout, **kwargs)

    wrapper = click.option("--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
                           help="With --wait: give up after SECONDS (exit 75).")(wrapper)
    return click.option("--wait", is_flag=True, help="If another job is writing, wait for "
                        "it (saying whom), then run.")(wrapper)


@contextlib.contextmanager
def _progress(quiet: bool):
    """A progress bar on a terminal; elsewhere a log record per step (--verbose shows
    them); --quiet keeps the log's warnings and errors only."""
    from warehouse import progress

    if quiet:
        logs.quiet()
    shown = progress.Bar() if not quiet and sys.stderr.isatty() else progress.Progress()
    try:
        yield shown
    finally:
        shown.close()


class WarehouseGroup(click.Group):
    """The command group, with what no single command can catch: arguments that are not
    text, and Ctrl-C (one line and exit 130; jobs publish whole or not at all)."""

    def parse_args(self, ctx, args):
        for number, arg in enumerate(args, 1):
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                error = click.ClickException(f"argument {number} is not valid UTF-8 text")
                error.exit_code = 2
                raise error from None
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        interrupts.install()
        logs.setup()
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, Exception) as exc:  # DuckDB turns SIGINT in a query
            if not is_interrupt(exc):                  # into its own error
                raise
            _interrupted()


def _interrupted():
    click.echo("warehouse: interrupted; the warehouse is as it was before this command",
               err=True)
    raise SystemExit(130)


@click.group(cls=WarehouseGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", help="Warehouse DuckDB file (default: from config, else usage.duckdb).")
@click.option("--config", "config_path", help="Config file (default: ./warehouse.toml).")
@click.option("--verbose", is_flag=True,
              help="Log every step (each table read, each model built) with its rows.")
@click.version_option(package_name="usage-warehouse")
@click.pass_context
def cli(ctx, db, config_path, verbose):
    """usage-warehouse: LLM usage analytics from Open WebUI in one DuckDB file.

    Example:

        warehouse demo
    """
    ctx.obj = {"db": db, "config": config_path}
    if verbose:
        logs.verbose()


@cli.command()
@click.argument("sources", nargs=-1)
@click.option("--url", "urls", multiple=True,
              help="Source database URL (sqlite:///path or postgresql://...), repeatable.")
@click.option("--kind", default="openwebui", show_default=True,
              type=click.Choice(config_module.KINDS), help="Kind of the --url sources.")
@click.option("--name", help="Name of the --url source (default: its kind).")
@click.option("--content", type=click.Choice(("none", "preview", "full")), default="preview",
              show_default=True, help="How much of the users' text the --url sources keep "
              "(README: What the warehouse keeps).")
@click.option("--full-refresh", is_flag=True, help="Recopy every table whole.")
@_wait_options
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
@click.pass_context
@user_errors
def ingest(ctx, sources, urls, kind, name, content, full_refresh, wait, quiet):
    """Copy new and changed rows from the sources into the warehouse.

    Example:

        warehouse ingest campus

        warehouse --db usage.duckdb ingest --url sqlite:////srv/webui.db
    """
    from warehouse import pipeline

    cfg = _config(ctx)
    extra = tuple(
        config_module.make_source(name or (kind if len(urls) == 1 else f"{kind}{i + 1}"),
                                  kind, url, content=content)
        for i, url in enumerate(urls))
    chosen = pipeline.select_sources(cfg, sources, extra)
    with _progress(quiet) as progress:
        run = pipeline.run_ingest(cfg, chosen, full_refresh, progress, wait)
    if not quiet:
        for r in run.ingested:
            if r.mode != "absent":
                click.echo(f"{r.source_name}.{r.table_name}: {r.mode}, {r.rows_read:,} read, "
                           f"{r.rows_inserted:,} new, {r.rows_updated:,} changed, "
                           f"{r.rows_deleted:,} gone from source")
        click.echo(run.line(cfg.db))


@cli.command()
@click.option("--select", "select", multiple=True,
              help="Build this model and what depends on it (repeatable).")
@click.option("--prices", "prices_file", type=click.Path(dir_okay=False),
              help="Price file to load (default: [warehouse] prices in the config).")
@click.option("--full", is_flag=True,
              help="Rebuild every day of the incremental models, not only changed days.")
@_wait_options
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb",
              show_default=True, help="spark: build every model on Apache Spark from a "
                                      "Parquet export (--input), in full.")
@click.option("--input", "export_dir", type=click.Path(file_okay=False),
              help="With --engine spark: the folder 'warehouse export' wrote.")
@click.option("--spark-warehouse", type=click.Path(file_okay=False),
              default="spark-warehouse", show_default=True,
              help="With --engine spark: where Spark writes the tables "
                   "(<schema>.db/<table>, Parquet).")
@click.option("--master", default="local[*]", show_default=True,
              help="With --engine spark: the Spark master URL.")
@click.pass_context
@user_errors
def build(ctx, select, prices_file, full, wait, quiet, engine, export_dir, spark_warehouse,
          master):
    """Build the SQL models (staging -> core -> marts) in dependency order.

    Example:

        warehouse build --select core.usage_events

        warehouse build --prices prices.toml

        warehouse build --engine spark --input /data/usage-parquet
    """
    from warehouse import pipeline

    if engine == "spark":
        _build_on_spark(ctx, export_dir, Path(spark_warehouse), master, quiet)
        return
    cfg = _config(ctx)
    if prices_file:
        cfg.prices = Path(prices_file)
    with _progress(quiet) as progress:
        run = pipeline.run_build(cfg, list(select) or None, progress, wait, full)
    if not quiet:
        click.echo(run.line(cfg.db))


def _build_on_spark(ctx, export_dir, spark_warehouse: Path, master: str, quiet: bool):
    """The models on Spark, reading the export; the columns stars stand for come from the
    DuckDB warehouse the export was written from."""
    import time

    from warehouse import db, models, spark
    from warehouse import transpile as transpile_module

    if not export_dir:
        raise WarehouseError("--engine spark needs --input, the folder 'warehouse export' "
                             "wrote")
    cfg = _config(ctx)
    found = models.discover(cfg.user_models)
    with db.connect(cfg.db, read_only=True) as con:
        schema = transpile_module.warehouse_schema(con)
    started = time.monotonic()
    session = spark.session(spark_warehouse, master)
    with _progress(quiet) as progress:
        results = spark.build(session, Path(export_dir), found, schema, progress)
    if not quiet:
        tables = [r for r in results if r.rows is not None]
        click.echo(f"built {len(results)} models on Spark ({len(tables)} tables, "
                   f"{sum(r.rows for r in tables):,} rows) in "
                   f"{time.monotonic() - started:.1f} s: {spark_warehouse}")


@cli.command()
@click.option("--full-refresh", is_flag=True,
              help="Recopy every table whole and rebuild every day.")
@click.option("--prices", "prices_file", type=click.Path(dir_okay=False),
              help="Price file to load (default: [warehouse] prices in the config).")
@_wait_options
@click.option("--quiet", is_flag=True, help="Print nothing on success (errors still go to "
                                            "standard error).")
@click.pass_context
@user_errors
def run(ctx, full_refresh, prices_file, wait, quiet):
    """Ingest every configured source, then build, then publish: the nightly job.

    Readers keep working during a run: it builds a copy beside the warehouse and swaps it
    in at the end, or leaves the warehouse as it was. Exit codes: 0 published; 1 failed,
    nothing changed; 2 bad command line; 75 another job is writing (retry later, or --wait);
    130 interrupted (Ctrl-C), nothing changed.

    Example:

        warehouse --config /etc/warehouse.toml run --quiet
    """
    from warehouse import pipeline

    cfg = _config(ctx)
    if prices_file:
        cfg.prices = Path(prices_file)
    with _progress(quiet) as progress:
        summary = pipeline.run_all(cfg, full_refresh, progress, wait)
    if not quiet:
        click.echo(summary.line(cfg.db))


@cli.command()
@click.option("--user", "who", required=True,
              help="The person's user id or email (Open WebUI or LiteLLM).")
@click.option("--requested-by", help="Who asked for the erasure, recorded with it "
                                     "(default: your login name).")
@click.option("--reason", help="Recorded with the erasure, e.g. the ticket number.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@_wait_options
@click.pass_context
@user_errors
def forget(ctx, who, requested_by, reason, yes, wait):
    """Erase a person: their rows leave raw, core and the marts, and stay out of later
    ingests. The erasure is recorded (who asked, when, how many rows), the person is not.

    Snapshots that hold the person are dropped and earlier exports are exported again
    without them; remove the person from the source databases and from other backups too.

    Example:

        warehouse forget --user jane.doe@uni.example --reason "GDPR request 2026-117"
    """
    import getpass

    from warehouse import privacy

    cfg = _config(ctx)
    if not yes:
        if not sys.stdin.isatty():
            raise WarehouseError("forget erases data for good: pass --yes to confirm")
        click.confirm(f"Erase every row of {who} from {cfg.db}?", abort=True)
    with _progress(False) as progress:
        done = privacy.forget(cfg, who, requested_by or getpass.getuser(), reason,
                              wait, progress)
    tables = ", ".join(f"{t} {n:,}" for t, n in sorted(done.rows.items()))
    click.echo(f"forgot {who}: removed {done.rows_removed:,} rows ({tables}); rebuilt "
               f"{done.models_built} models; erasure {done.erasure_id} recorded in "
               "_warehouse.erasures")
    for folder in done.exports:
        click.echo(f"export {folder}: exported again without them")


@cli.command()
@click.option("--from", "source", metavar="SNAPSHOT|EXPORT_DIR",
              help="A snapshot (or any warehouse file), or a folder 'warehouse export' "
                   "wrote (default: the newest snapshot).")
@_wait_options
@click.pass_context
@user_errors
def restore(ctx, source, wait):
    """Bring the warehouse back from a snapshot or an export, with every recorded
    erasure applied again. The file it replaces is kept beside it, never deleted.

    Example:

        warehouse restore

        warehouse restore --from /backup/usage-parquet
    """
    from warehouse import restore as restore_module

    cfg = _config(ctx)
    with _progress(False) as progress:
        done = restore_module.restore(cfg, source, wait, progress)
    built = f", built {done.models_built} models" if done.models_built else ""
    click.echo(f"restored {cfg.db} from {done.kind} {done.source}: "
               f"{done.erasures_reapplied} erased ids applied again{built}, in "
               f"{done.seconds:.1f} s")
    if done.aside is not None:
        click.echo(f"the file it replaced is kept as {done.aside}: delete it once you "
                   "no longer need it")


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["table", "json"], case_sensitive=False),
              default="table", show_default=True,
              help="json: one object for monitoring (shape: warehouse/status.schema.json).")
@click.pass_context
@user_errors
def status(ctx, fmt):
    """Show sources, watermarks, the last run of each table, what was quarantined and
    row counts.

    Example:

        warehouse --db usage.duckdb status --format json
    """
    from warehouse import journal, output, pipeline, snapshots

    cfg = _config(ctx)
    if fmt.lower() == "json":
        import json

        from warehouse import health

        click.echo(json.dumps(health.state(cfg), indent=1))
        return
    width = output.terminal_width()
    attempts = journal.last_attempts(cfg.db)
    if attempts:
        click.echo(f"Last attempts, failed and killed ones too ({journal.journal_path(cfg.db)})")
        click.echo(output.to_table(
            ["command", "started_at", "seconds", "outcome", "reason"],
            [(a.command, a.started_at, a.seconds, a.outcome, a.reason) for a in attempts],
            width))
    kept = snapshots.listed(cfg.db)
    if kept:
        click.echo("Snapshots (warehouse restore [--from FILE]; [warehouse] keep = N)")
        click.echo(output.to_table(
            ["file", "published_at", "megabytes"],
            [(s.path.name, s.published_at, round(s.path.stat().st_size / 1e6, 1))
             for s in kept], width))
    st = pipeline.status(cfg)
    click.echo("Last jobs (the run log: _warehouse.run_log)")
    click.echo(output.to_table(["run_id", "command", "started_at", "seconds", "rows_read",
                                "models_built"], st.runs, width))
    click.echo("Sources")
    click.echo(output.to_table(["source", "kind", "tables_present", "checked_at"],
                               st.sources, width))
    click.echo("Watermarks")
    click.echo(output.to_table(["source", "table", "cursor", "value", "updated_at"],
                               st.watermarks, width))
    click.echo("Last ingest per table")
    click.echo(output.to_table(["source", "table", "mode", "finished_at", "read", "new",
                                "changed", "gone"], st.last_runs, width))
    if st.erasures:
        click.echo("Erasures (warehouse forget)")
        click.echo(output.to_table(["erasure_id", "erased_at", "requested_by", "reason",
                                    "rows_removed"], st.erasures, width))
    if st.quarantine:
        click.echo("Quarantine (rows and values not taken as the source gave them; "
                   "SELECT * FROM core.quarantine)")
        click.echo(output.to_table(["source", "table", "problem", "rows"], st.quarantine,
                                   width))
    else:
        click.echo("Quarantine: nothing set aside")
    click.echo("Tables")
    click.echo(output.to_table(["table", "rows"], st.tables, width))


def _declared_option(option):
    """A Click option from a report option's declaration (warehouse/reports/options.py).
    Defaults stay None, so that only what the user typed counts as given."""
    reports_taking = takers(option.name)
    plain = [n for n in reports_taking if " " not in n]
    if len(plain) > len(REPORTS) / 2:
        but = [n for n in REPORTS if n not in plain]
        where = "All reports" + (f" but {', '.join(but)}" if but else "")
        where += "".join(f"; {n}" for n in reports_taking if " " in n)
    else:
        where = "Reports: " + "; ".join(reports_taking)
    default = option.default not in (None, (), False)
    text = option.help + (f" Default: {option.default}." if default else "") + f" {where}."
    kwargs = {"help": text}
    if option.kind == "flag":
        kwargs["is_flag"] = True
    elif option.kind == "repeat":
        kwargs["multiple"] = True
    elif option.kind == "int":
        kwargs["type"] = int
    if option.choices:
        choices = [str(c) for c in option.choices]
        kwargs["shell_complete"] = lambda ctx, param, incomplete: [
            c for c in choices if c.startswith(incomplete.lower())]
        kwargs["metavar"] = "|".join(choices).upper() if len(choices) <= 4 else "CHOICE"
    return click.option(option.flag, option.name, **kwargs)


def _options_of(names):
    def decorate(func):
        for name in reversed([n for n in OPTIONS if n in names]):
            func = _declared_option(OPTIONS[name])(func)
        return func

    return decorate


def _given(ctx: click.Context, options: dict) -> dict:
    """The options the user typed (or set in the environment), not Click's defaults."""
    return {name: value for name, value in options.items()
            if ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT)}


def _report_names(ctx, param, incomplete: str):
    """Shell completion of report names."""
    return [name for name in REPORTS if name.startswith(incomplete)]


def _format_option(func):
    from warehouse.output import FORMATS

    return click.option("--format", "fmt", default="table", show_default=True,
                        metavar="|".join(FORMATS).upper(),
                        shell_complete=lambda ctx, param, incomplete: [
                            f for f in FORMATS if f.startswith(incomplete.lower())],
                        help="table, json, csv or parquet.")(func)


@cli.command()
@click.argument("name", required=False, shell_complete=_report_names)
@_options_of(OPTIONS)
@_format_option
@click.option("--output", help="Write to this file instead of standard output.")
@click.option("--chart", type=click.Path(dir_okay=False),
              help="Draw the report to this .png, .svg or .html file (offline); rows are "
                   "then written only with --output.")
@click.pass_context
@user_errors
def report(ctx, name, fmt, output, chart, **options):
    """Answer a named question; without NAME, list the reports. Each report takes only
    the options it honours: any other is refused, never ignored.

    Example:

        warehouse report users --since 2026-10-01 --until 2026-11-01 --tz Europe/Berlin

        warehouse report daily --group Students --granularity week --format json

        warehouse report active-users --by tag --since 2026-11-01 --tz America/Los_Angeles

        warehouse report tags --compat litellm --since 2026-11-01 --until 2026-11-08

        warehouse report costs --by group --granularity month --currency EUR

        warehouse report daily --granularity week --chart usage.png
    """
    from warehouse import api
    from warehouse import output as out
    from warehouse.reports import resolve

    if name is None:
        rows = [(n, r.description) for n, r in REPORTS.items()]
        click.echo(out.to_table(["report", "what it answers"], rows, out.terminal_width())
                   + "\n'warehouse report --help' says which reports take each option; a "
                   "report refuses the options it does not honour.")
        return
    from warehouse.files import outputs

    filters = resolve(name, _given(ctx, options))
    fmt = out.checked_format(fmt)
    cfg = _config(ctx, reading=True)
    _check_outputs(cfg, output=output, chart=chart)
    with api.open(cfg.db, cfg.pseudonymize) as wh:
        result = wh.run_report(name, filters)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    with outputs(cfg.output_mode):
        if chart:
            from warehouse import charts

            charts.write(charts.spec(result, filters), chart)
            click.echo(f"chart of report {name} ({len(result.rows):,} rows): {chart}",
                       err=True)
            if not output:
                return
        text = out.render(result.columns, result.rows, fmt, output, out.terminal_width())
    if text is not None:
        click.echo(text, nl=False)


@cli.command()
@_options_of(FILTERS)
@click.option("--output", default="usage.html", show_default=True,
              type=click.Path(dir_okay=False), help="The HTML file to write.")
@click.pass_context
@user_errors
def dashboard(ctx, output, **options):
    """Write one self-contained HTML page of the main charts and tables.

    The page opens offline (scripts and data are inside it): usage over time, active
    users, models, tokens, top users, costs by group and over time, tags; with the
    filters used and how fresh the data is. Without --since: the last 90 days with data.

    Example:

        warehouse dashboard --output usage.html

        warehouse dashboard --group Students --since 2026-09-01 --tz Europe/Berlin
    """
    from warehouse import api
    from warehouse import dashboard as dashboard_module
    from warehouse.files import outputs
    from warehouse.reports import resolve

    # every section's report honours the filters summary does (catalog.FILTERS)
    filters = resolve("summary", _given(ctx, options))
    target = Path(output)
    if not target.resolve().parent.is_dir():
        raise WarehouseError(f"--output {output}: folder {target.resolve().parent} "
                             "does not exist")
    cfg = _config(ctx, reading=True)
    _check_outputs(cfg, output=output)
    with api.open(cfg.db, cfg.pseudonymize) as wh:
        text = dashboard_module.build(wh, filters)
    try:
        with outputs(cfg.output_mode):
            target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise WarehouseError(f"--output {output}: {exc.strerror or exc}") from None
    click.echo(f"dashboard: {output} ({len(text.encode()) / 1e6:.1f} MB, opens offline)")


@cli.command()
@click.argument("sql")
@_format_option
@click.option("--output", help="Write to this file instead of standard output.")
@click.pass_context
@user_errors
def query(ctx, sql, fmt, output):
    """Run any read-only SQL on the warehouse.

    Example:

        warehouse query "select model_id, sum(messages) from marts.usage_hourly group by 1"
    """
    from warehouse import api
    from warehouse import output as out
    from warehouse.files import outputs

    cfg = _config(ctx, reading=True)
    _check_outputs(cfg, output=output)
    with api.open(cfg.db) as wh:
        columns, rows = wh.fetch(sql)
    with outputs(cfg.output_mode):
        text = out.render(columns, rows, fmt, output, out.terminal_width())
    if text is not None:
        click.echo(text, nl=False)


@cli.command()
@click.option("--max-age", default="26h", show_default=True, metavar="DURATION",
              help="How old a source's newest data may be: 26h, 90m, 2d, 3600s.")
@click.option("--source", "sources", multiple=True, metavar="NAME",
              help="Check this source only (repeatable; default: all).")
@click.pass_context
def check(ctx, max_age, sources):
    """For monitoring: is each source's data fresh? One line per source; exit 0 when all
    are, 1 when one is stale, 2 when the check cannot be made (no warehouse, damaged,
    unknown source).

    Example:

        warehouse check --max-age 26h
    """
    from warehouse import health

    try:
        cfg = _config(ctx)
        verdicts = health.freshness(cfg, health.parse_age(max_age), tuple(sources))
    except WarehouseError as exc:
        click.echo(f"error: {redact(str(exc))}", err=True)
        raise SystemExit(2) from None
    for verdict in verdicts:
        click.echo(verdict.line)
    raise SystemExit(0 if all(v.fresh for v in verdicts) else 1)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; another than loopback needs [serve] api_keys.")
@click.option("--port", default=8787, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: a free one, named on start).")
@click.option("--quiet", is_flag=True, help="No access log: the start line (naming the "
              "address) and errors only.")
@click.option("--tz", help="Time zone of Open WebUI's buckets and dates (/api/v1/analytics); "
              "default: this machine's, as Open WebUI uses its server's.")
@click.pass_context
@user_errors
def serve(ctx, host, port, quiet, tz):
    """Answer the reports over HTTP (JSON or CSV) from the published warehouse,
    switching to each newly published snapshot without a restart; and Open WebUI's
    analytics API (/api/v1/analytics/...) with its paths and bodies. With [serve]
    api_keys in the config every request needs 'Authorization: Bearer <key>'.

    Example:

        warehouse serve --port 8787

        curl 'http://127.0.0.1:8787/api/reports/users?since=2026-11-01&limit=10'

        curl 'http://127.0.0.1:8787/api/v1/analytics/daily?granularity=hourly'
    """
    from warehouse import serve as serve_module

    cfg = _config(ctx)
    if quiet:
        logs.quiet()

    def started(url):
        click.echo(f"serving {cfg.db} at {url} (API: {url}/openapi.json); Ctrl-C stops",
                   err=True)

    serve_module.serve(cfg, host, port, quiet, started, tz)


@cli.command("new-api-key")
def new_api_key():
    """Make an API key for 'warehouse serve': the key is shown once, only its hash goes
    into the config.

    Example:

        warehouse new-api-key
    """
    from warehouse.serve import keys

    key, hashed = keys.new_key()
    click.echo(f"key (give it to the client; it is not stored anywhere): {key}")
    click.echo(f'config (add to warehouse.toml):\n[serve]\napi_keys = ["{hashed}"]')


@cli.command()
@click.option("--format", "fmt", type=click.Choice(["parquet"]), default="parquet",
              show_default=True, help="File format of the export.")
@click.option("--output", required=True, type=click.Path(file_okay=False),
              help="Folder to write (one sub-folder per table, day=YYYY-MM-DD inside).")
@click.option("--full", is_flag=True, help="Rewrite every table, not only changed days.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
@click.pass_context
@user_errors
def export(ctx, fmt, output, full, quiet):
    """Write the raw and core layers as Parquet partitioned by day (hive style), for
    Spark, Trino, ClickHouse or DuckDB. Run it again to write only the days that changed.

    Example:

        warehouse export --format parquet --output /data/usage-parquet
    """
    from warehouse import export as export_module
    from warehouse import output as out
    from warehouse.files import outputs

    cfg = _config(ctx, reading=True)
    _check_outputs(cfg, output=output)
    with outputs(cfg.output_mode):  # as private as the warehouse, unless told
        results = export_module.export_parquet(cfg.db, Path(output), full)
    if quiet:
        return
    rows = [(r.table, r.rows, ", ".join(r.days_written[:3])
             + (f" (+{len(r.days_written) - 3} more)" if len(r.days_written) > 3 else ""),
             r.rows_written, r.days_kept if r.partitioned else "", len(r.days_removed) or "")
            for r in results]
    click.echo(out.to_table(["table", "rows", "days written", "rows written", "days kept",
                             "days removed"], rows, out.terminal_width()), nl=False)
    written = sum(len(r.days_written) for r in results)
    click.echo(f"exported {len(results)} tables to {output}: {written} day partitions "
               f"written, {sum(r.rows_written for r in results):,} rows")


@cli.command()
@click.option("--dialect", required=True,
              type=click.Choice(["spark", "trino", "clickhouse", "duckdb"]),
              help="SQL dialect to print the models in.")
@click.option("--select", "select", multiple=True,
              help="Only this model (repeatable).")
@click.pass_context
@user_errors
def transpile(ctx, dialect, select):
    """Print every model in another engine's SQL, DuckDB macros expanded (sqlglot).
    A construct the dialect cannot express fails, naming the model and the construct.

    Example:

        warehouse transpile --dialect spark --select marts.user_daily
    """
    from warehouse import db, models
    from warehouse import transpile as transpile_module

    cfg = _config(ctx)
    found = models.discover(cfg.user_models)
    with db.connect(cfg.db, read_only=True) as con:
        schema = transpile_module.warehouse_schema(con)
    missing = sorted(n for n in found if n.split(".")[1] not in
                     schema.get(n.split(".")[0], {}))
    if missing:
        raise WarehouseError(f"model {missing[0]} is not built in {cfg.db}: run "
                             "'warehouse build' first (the columns come from the built "
                             "warehouse)")
    for model, sql in transpile_module.transpile_all(found, dialect, schema, list(select)):
        click.echo(f"-- {model.name} ({model.materialized})\n{sql};\n")


@cli.command("models")
@click.option("--lineage", "name", metavar="REPORT|MODEL",
              help="Where a report's or a model's figures come from, down to the raw "
                   "source tables.")
@click.pass_context
@user_errors
def list_models(ctx, name):
    """List the SQL models, how each is materialised and what it reads.

    Example:

        warehouse models --lineage users
    """
    from warehouse import models, output

    found = models.discover(_config(ctx).user_models)
    if name:
        from warehouse import lineage
        from warehouse.errors import did_you_mean

        if name not in REPORTS and name not in found:
            raise WarehouseError(f"--lineage {name!r}: no such report or model"
                                 + did_you_mean(name, [*REPORTS, *found]))
        click.echo(output.to_table(["layer", "reads"], lineage.chain(found, name),
                                    output.terminal_width()), nl=False)
        return
    rows = [(n, found[n].materialized, ", ".join(sorted(found[n].depends_on | found[n].external)))
            for n in models.build_order(found)]
    click.echo(output.to_table(["model", "materialized", "reads"], rows,
                                output.terminal_width()), nl=False)


@cli.command("docs")
@click.option("--output", default="docs", show_default=True, type=click.Path(file_okay=False),
              help="Folder for reports.md and models.md.")
@click.pass_context
@user_errors
def write_docs(ctx, output):
    """Write the reference pages (reports and their options, models and their columns,
    lineage) from the code and the warehouse's columns.

    Example:

        warehouse --config demo/warehouse.toml docs --output docs
    """
    from warehouse import api, docs, models

    cfg = _config(ctx, reading=True)
    with api.open(cfg.db) as wh:
        written = docs.write(Path(output), wh.con, models.discover(cfg.user_models))
    click.echo("wrote " + ", ".join(str(p) for p in written))


@cli.command()
@click.option("--dir", "folder", default="demo", show_default=True,
              help="Folder for the sample webui.db, warehouse.toml and usage.duckdb.")
@click.pass_context
@user_errors
def demo(ctx, folder):
    """Create a sample Open WebUI database and run the whole pipeline on it.

    Example:

        warehouse demo --dir /tmp/demo
    """
    from warehouse import api, output, pipeline
    from warehouse import demo as demo_module
    from warehouse.reports import Filters

    webui, config_file = demo_module.create(Path(folder))
    cfg = config_module.load(str(config_file), None)
    click.echo(f"sample Open WebUI database: {webui}")
    run = pipeline.run_all(cfg)
    click.echo(f"ingested {run.rows_read:,} rows, built {len(run.built)} "
               f"models into {cfg.db}\n")
    with api.open(cfg.db, cfg.pseudonymize) as wh:
        for name in ("summary", "models"):
            result = wh.run_report(name, Filters())
            click.echo(f"warehouse report {name}")
            click.echo(output.to_table(result.columns, result.rows, output.terminal_width()))
    click.echo(f"Next: warehouse --config {config_file} report users --tz Europe/Berlin")


def main() -> None:
    cli(prog_name="warehouse")


if __name__ == "__main__":
    main()
