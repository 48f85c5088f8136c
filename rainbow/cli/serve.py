"""`rainbow serve`: run the scheduler server on one port until SIGINT or SIGTERM."""
from __future__ import annotations

import logging

import click

from rainbow.cli.settings import config_path_option, loaded_config, setting
from rainbow.logformat import log_format_option


def _selection_options(options) -> dict[str, str]:
    """Selection options as the wire carries them (strings); a YAML list of priorities is written back as text."""
    import yaml

    out: dict[str, str] = {}
    for key, value in (options or {}).items():
        out[str(key)] = value if isinstance(value, str) else yaml.safe_dump(value, sort_keys=False)
    return out


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=50051, show_default=True,
              help="Port to listen on (0: pick a free one; the line 'serving on' shows it).")
@click.option("--db", "db", default="rainbow.db", show_default=True, envvar="RAINBOW_DB", show_envvar=True,
              help="The store: a SQLite file (or sqlite:///PATH), or postgresql://USER@HOST:PORT/DB, which several "
                   "servers can share.")
@setting("--secret", default=None, config_key="scheduler.secret",
         help="Registration secret (none anywhere: the one the store keeps, else a random one, printed once).")
@click.option("--rotate-registration-secret", "rotate_secret", is_flag=True,
              help="Replace the registration secret the store keeps with --secret.")
@setting("--admin-token", default=None, config_key="admin.token",
         help="Admin token for users, groups, grants and rotation (none anywhere: the store's, else admin is off).")
@click.option("--rotate-admin-token", "rotate_admin", is_flag=True,
              help="Replace the admin token the store keeps with --admin-token.")
@click.option("--receive-lease", "receive_lease", type=click.FloatRange(0, 86400), default=0.0, show_default=True,
              help="Seconds a received job is kept from other ReceiveJobs calls (0: every call lists all pending).")
@config_path_option
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None, help="Server certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None, help="Server private key (PEM).")
@click.option("--tls-ca", type=click.Path(dir_okay=False), default=None,
              help="CA (PEM) that signs client certificates: turns on mutual TLS.")
@click.option("--global-token", default=None,
              help="Give every cluster this same submit token (upstream's opt-in; off by default).")
@click.option("--max-message-mb", type=click.IntRange(1, 2047), default=None,
              help="Largest gRPC message in MiB (default: 1024, enough for a 10,000-node x 64-core graph).")
@click.option("--workers", type=click.IntRange(1, 1024), default=16, show_default=True,
              help="Threads serving requests.")
@click.option("--compat-mappings", "mapping_files", multiple=True, type=click.Path(dir_okay=False),
              help="YAML file of extra compatibility namespaces (the artifact request shape); repeatable.")
@setting("--http-port", "http_port", type=click.IntRange(0, 65535), default=None, config_key="http.port",
         help="Serve /metrics (Prometheus) and the status page / on this port (0: pick a free one; default: off).")
@setting("--http-host", "http_host", default="127.0.0.1", show_default=True, config_key="http.host",
         help="Address of the HTTP port; off loopback every request needs the viewer token or the registration "
              "secret.")
@setting("--http-auth", "http_auth", type=click.Choice(["auto", "always"]), default="auto", show_default=True,
         config_key="http.auth",
         help="When the HTTP port asks for a credential: auto (off loopback only) or always (also on loopback, "
              "e.g. behind a reverse proxy on this host).")
@setting("--viewer-token", "viewer_token", default=None, config_key="http.viewer_token",
         help="A read-only credential for the status page, /metrics and `rainbow status` (kept only as a hash).")
@log_format_option
def serve(host: str, port: int, db: str, secret: str | None, config_path: str | None, tls_cert: str | None,
          tls_key: str | None, tls_ca: str | None, global_token: str | None, max_message_mb: int | None,
          workers: int, mapping_files: tuple[str, ...], rotate_secret: bool = False,
          receive_lease: float = 0.0, admin_token: str | None = None, rotate_admin: bool = False,
          http_port: int | None = None, http_host: str = "127.0.0.1", viewer_token: str | None = None,
          log_format: str = "text", http_auth: str = "auto") -> None:
    """Serve the rainbow scheduler (register, submit, receive, accept) with health checks and reflection."""
    from rainbow.shutdown import StopSignals, end_process

    # First of all, so that a SIGINT/SIGTERM during start-up is kept and ends the start cleanly.
    signals = click.get_current_context().with_resource(StopSignals(
        grace=10.0, say=logging.getLogger("rainbow.server").info, stopping="stopping, finishing requests in flight"))
    from compspec.compat import load_mappings
    from compspec.schemas import FormatError
    from rainbow.config import apply_env, get_dotted
    from rainbow.server.app import (RainbowServer, ServerOptions, ServerStartError, TLSFiles, check_port_free,
                                    run_until_signalled)
    from rainbow.server.registration import SecretMismatch, settle_admin_token, settle_registration_secret
    from rainbow.server.limits import default_limits
    from rainbow.select import select, site_presets
    from rainbow.server.bidding import BID, BidSettings, bid_options
    from rainbow.server.errors import InvalidArgument
    from rainbow.server.scheduler import Scheduler, SelectionConfig
    from rainbow.store import StoreError, open_store
    from rainbow.logformat import configure_logging

    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key go together")
    if tls_ca and not tls_cert:
        raise click.UsageError("--tls-ca needs --tls-cert and --tls-key")
    loaded = loaded_config()
    if loaded is None or (loaded.named and not loaded.path.is_file()):
        # A server started with a config file it cannot find would run with another secret and selection.
        raise click.ClickException(f"config {config_path}: no such file")
    cfg = apply_env(loaded.cfg)
    tls = TLSFiles(tls_cert, tls_key, tls_ca) if tls_cert else None
    try:
        check_port_free(host, port)
        if tls is not None:
            tls.credentials()  # unreadable files fail here, before the store is touched
    except ServerStartError as exc:
        raise click.ClickException(str(exc)) from None

    if http_port is not None:
        try:
            check_port_free(http_host, http_port)
        except ServerStartError as exc:
            raise click.ClickException(f"--http-port: {exc}") from None
    configure_logging(log_format)
    secret = secret or ""
    try:
        presets = site_presets(cfg.get("selection_presets") or {})
    except FormatError as exc:
        raise click.ClickException(str(exc)) from None
    selection = SelectionConfig(name=get_dotted(cfg, "scheduler.algorithms.selection.name") or "random",
                                options=_selection_options(get_dotted(cfg, "scheduler.algorithms.selection.options")),
                                presets=presets)
    try:  # a bad algorithm name or priorities list is a startup error, not an error on every submit
        if selection.name == BID:
            bid_options(BidSettings(), selection.options, presets)
        else:
            select(selection.name, ["probe"], options=selection.options, states={}, parameters={}, presets=presets)
    except (FormatError, InvalidArgument) as exc:
        raise click.ClickException(f"scheduler.algorithms.selection: {exc}") from None
    try:
        mappings = load_mappings(mapping_files) if mapping_files else None
    except FormatError as exc:
        raise click.ClickException(f"--compat-mappings: {exc}") from None
    limits = default_limits()
    if max_message_mb is not None:
        limits = limits.with_overrides(max_message_mb=max_message_mb)
    try:
        store = open_store(db, pool_size=workers + 2)
    except StoreError as exc:
        raise click.ClickException(f"cannot open the store: {exc}") from None
    try:
        settled = settle_registration_secret(store, secret, rotate_secret)
        settle_admin_token(store, admin_token, rotate_admin)
    except (SecretMismatch, StoreError) as exc:
        store.close()
        raise click.ClickException(str(exc)) from None
    secret, generated = settled.secret, settled.generated
    metrics = web = None
    if http_port is not None:
        from rainbow.server.metrics import ServerMetrics, TimedStore
        from rainbow.server.web import WebOptions

        metrics = ServerMetrics()
        metrics.watch_store(store)
        web = WebOptions(host=http_host, port=http_port, tls_cert=tls_cert, tls_key=tls_key, auth=http_auth)
        store = TimedStore(store, metrics)
    from rainbow.server.auth import hash_credential

    scheduler = Scheduler(store, registration_secret=secret, selection=selection, global_token=global_token,
                          limits=limits, mappings=mappings, receive_lease_seconds=receive_lease, observer=metrics,
                          viewer_token_hash=hash_credential(viewer_token) if viewer_token else None)

    def rebuild() -> None:
        loaded = scheduler.rebuild()
        logging.getLogger("rainbow.server").info("store %s: %d clusters loaded", store.location, loaded)

    options = ServerOptions(host=host, port=port, workers=workers, max_message_bytes=limits.max_message_bytes,
                            tls=tls, web=web, metrics=metrics)
    server = RainbowServer(scheduler, options)
    if generated:
        click.echo(f"rainbow: registration secret: {secret}")
    try:
        run_until_signalled(server, lambda line: click.echo(line), prepare=rebuild, signals=signals)
    except ServerStartError as exc:
        store.close()
        raise click.ClickException(str(exc)) from None
    end_process(0)  # stopped, store closed, output flushed: no need to wait for gRPC's teardown
