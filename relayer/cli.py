"""relayer: a Dutch-auction relayer for atomic swaps between Ethereum and Cardano.

Makers sign orders; the relayer publishes each as a Dutch auction whose price
falls on a schedule; resolvers fill them by locking funds in hash-time-locked
escrows on both chains; the relayer releases the maker's secret only once both
escrows are verified and final. Settings come from embedded defaults, then the
TOML file (--config), then RELAYER_* environment variables, then flags
(docs/configuration.md).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from relayer.config import Settings, load_settings
from relayer.errors import ConfigError
from relayer.log_setup import configure_logging

CONFIG_HELP = "TOML config file (docs/configuration.md); default: the embedded defaults"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relayer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser("serve", help="run the relayer API and background jobs",
                                description="Run the relayer: the HTTP and WebSocket API, the "
                                            "explorer, the chain monitors and settlement.")
    serve.add_argument("--config", help=CONFIG_HELP)
    serve.add_argument("--host", help="address to listen on (server.host; default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="TCP port to listen on (server.port; default "
                                                "8080)")
    _store_flags(serve)
    migrate = commands.add_parser("migrate", help="create or upgrade the store's schema and exit")
    migrate.add_argument("--config", help=CONFIG_HELP)
    _store_flags(migrate)
    check = commands.add_parser("check-config", help="validate the configuration and exit")
    check.add_argument("--config", help=CONFIG_HELP)
    keys = commands.add_parser("keys", help="manage resolver API keys")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="COMMAND")
    create = key_commands.add_parser(
        "create", help="make a new API key: prints the key once, and the line to store or "
                       "(--write) stores it")
    create.add_argument("--scopes", required=True,
                        help="comma-separated: read, secrets, webhooks, admin")
    create.add_argument("--signing", action="store_true",
                        help="also allow HMAC-signed requests with this key")
    create.add_argument("--note", default="", help="a label kept with the key")
    create.add_argument("--write", action="store_true",
                        help="append the stored line to security.api_keys_file (created with "
                             "mode 0600 if missing) instead of printing it")
    create.add_argument("--config", help="TOML config naming security.api_keys_file (for "
                                         "--write; RELAYER_SECURITY_API_KEYS_FILE works too)")
    return parser


def _store_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="directory for the SQLite store and key files "
                                           "(data_dir; default .data)")
    parser.add_argument("--store-url", help="sqlite:///PATH or postgresql://... (store.url; "
                                            "default SQLite under the data directory)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "keys":
        from relayer.security.cli import create_key

        return create_key(scopes=args.scopes, signing=args.signing, note=args.note,
                          write=args.write, config=args.config, environ=os.environ)
    try:
        settings = load_settings(
            args.config,
            environ=os.environ,
            overrides={
                "server.host": getattr(args, "host", None),
                "server.port": getattr(args, "port", None),
                "data_dir": getattr(args, "data_dir", None),
                "store.url": getattr(args, "store_url", None),
            },
        )
    except ConfigError as exc:
        print(f"relayer: configuration error: {exc.message}", file=sys.stderr)
        return 2
    if args.command == "migrate":
        from relayer.store import migrate_store

        return migrate_store(settings.store_url)
    if args.command == "check-config":
        from relayer.security.keys import KeyRegistry

        try:
            KeyRegistry.from_settings(settings.security)
        except ConfigError as exc:
            print(f"relayer: configuration error: {exc.message}", file=sys.stderr)
            return 2
        print("configuration ok")
        return 0
    return serve_forever(settings)


def writable_dirs(settings: Settings) -> list[tuple[str, Path]]:
    """The directories ``serve`` writes to, each with the setting that names it."""
    data = Path(settings.data_dir)
    found = [("data_dir", data)]
    url = settings.store_url
    if url.startswith("sqlite:///"):
        found.append(("store.url", Path(url.removeprefix("sqlite:///")).parent))
    if settings.settlement.custody_keys_file and not settings.settlement.custody_keys:
        found.append(("settlement.custody_keys_file",
                      Path(settings.settlement.custody_keys_file).parent))
    if settings.webhooks.secret_key_file and not settings.webhooks.secret_key:
        found.append(("webhooks.secret_key_file",
                      Path(settings.webhooks.secret_key_file).parent))
    return found


def check_writable(settings: Settings) -> str | None:
    """``None`` when every directory ``serve`` writes to exists (or can be made) and takes
    a file; else one line naming the setting, the path and the reason."""
    for key, directory in writable_dirs(settings):
        if directory.exists() and not directory.is_dir():
            return f"{key} {directory} is not a writable directory: Not a directory"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=directory):
                pass
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return f"{key} {directory} is not a writable directory: {reason}"
    return None


def serve_forever(settings: Settings) -> int:
    import uvicorn

    from relayer.api.app import create_app
    from relayer.api.ws.endpoint import uvicorn_options

    problem = check_writable(settings)
    if problem is not None:
        print(f"relayer: cannot start: {problem}", file=sys.stderr)
        return 2
    configure_logging(format=settings.log.format, level=settings.log.level)
    try:
        app = create_app(settings)
    except OSError as exc:  # a file the checks above could not foresee
        where = exc.filename or settings.data_dir
        print(f"relayer: cannot start: {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=settings.server.host, port=settings.server.port,
                log_level="warning", access_log=False, lifespan="on", log_config=None,
                proxy_headers=True, forwarded_allow_ips=settings.server.forwarded_allow_ips,
                timeout_graceful_shutdown=10,
                **uvicorn_options(settings.websocket, settings.limits))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
