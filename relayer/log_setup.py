"""structlog setup, done once by the CLI (never at import time).

``json`` (production) prints one JSON object a line, for structlog's loggers
and the standard library's (uvicorn, apscheduler) alike; ``console`` prints
aligned, readable lines. Every line passes ``redact_secrets`` first: a field
named like a secret is replaced, whatever the code that logged it intended.
That is defence in depth: secrets are not meant to reach a logger at all.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.types import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"
_SECRET_NAME = re.compile(
    r"(^|_)(secret|secrets|secret_key|signing_secret|signing_key|password|passwd|passphrase"
    r"|api_key|apikey|authorization|cookie|private_key|privkey|mnemonic|seed|preimage)$"
)
_API_KEY_TEXT = re.compile(r"rk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}")
_MAX_DEPTH = 6


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name.lower().replace("-", "_")))


def redact_secrets(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Replace values of secret-named fields (at any depth) and API keys inside text."""
    for key in list(event):
        event[key] = _redact(key, event[key], 0)
    return event


def _redact(name: object, value: Any, depth: int) -> Any:
    if isinstance(name, str) and is_secret_name(name):
        return REDACTED
    if depth >= _MAX_DEPTH:
        return value
    if isinstance(value, str):
        return _API_KEY_TEXT.sub(REDACTED, value) if "rk_" in value else value
    if isinstance(value, Mapping):
        return {k: _redact(k, v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact(None, v, depth + 1) for v in value)
    return value


class OgmiosScriptTrials(logging.Filter):
    """Drops the two warnings ogmios-python (1.4.3) logs for every Plutus script it reads.

    Its model of a UTxO's script is ``Union[native, plutus]``: a Plutus script, which
    Ogmios v6 sends as ``{"language": "plutus:v3", "cbor": ...}`` (the simulator as the
    real node), is first tried as a native one, and that failed trial is logged as a
    "pydantic warning" with the data, then the error ("permitted: 'native'"), instead of
    being passed over. Nothing is wrong and the wallets read the script as sent, so only
    these two lines are dropped: any other ogmios warning passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("pydantic warning:"):
            return '"language": "plutus:v' not in message
        if message.startswith("This is the original exception:"):
            return "permitted: 'native'" not in message
        return True


def configure_logging(*, format: str, level: str, stream: TextIO | None = None,
                      cache: bool = True) -> None:
    """Send structlog and standard-library logs to ``stream`` (stderr) as ``format``.

    ``cache=False`` keeps loggers re-reading the configuration (tests reconfigure).
    """
    out = stream if stream is not None else sys.stderr
    numeric = getattr(logging, level.upper())
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact_secrets,
    ]
    renderer: Processor
    if format == "json":
        shared += [structlog.processors.StackInfoRenderer(),
                   structlog.processors.format_exc_info]
        renderer = structlog.processors.JSONRenderer()
    else:
        shared.append(structlog.processors.StackInfoRenderer())
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=cache,
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(numeric)
    # Chatty libraries: one line per job run or per outgoing HTTP call (chain RPC), and
    # ogmios's dump of every answer it parsed.
    for name in ("apscheduler", "httpx", "httpcore", "ogmios"):
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    ogmios = logging.getLogger("ogmios")
    if not any(isinstance(f, OgmiosScriptTrials) for f in ogmios.filters):
        ogmios.addFilter(OgmiosScriptTrials())
