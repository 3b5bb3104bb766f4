"""Checking a registration: the endpoint URL, the filters, and the caller's scopes.

Every refusal is a ``ValidationError`` (or ``ForbiddenScope``) with a stable
code, raised before anything is stored.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from relayer.config import WebhookSettings
from relayer.errors import ValidationError
from relayer.networks.registry import ChainRegistry
from relayer.public.events import EVENT_CHANNELS, channel_scope
from relayer.security.errors import ForbiddenScope
from relayer.security.principal import Principal, Scope
from relayer.webhooks.model import Filters
from relayer.webhooks.wire import WebhookRequest

NOT_BY_WEBHOOK = frozenset({"price_update"})
"""Price ticks are a per-second firehose: the WebSocket ``prices`` channels carry them."""
WEBHOOK_EVENTS: tuple[str, ...] = tuple(e for e in EVENT_CHANNELS if e not in NOT_BY_WEBHOOK)
MAX_URL = 2048
MAX_DESCRIPTION = 200
_CONTROL = re.compile(r"[\x00-\x20\x7f]")


def event_scope(event: str) -> Scope | None:
    """The scope needed to receive ``event``: ``None`` if one of its channels is public."""
    scopes = [None if name.endswith(":") else channel_scope(name)
              for name in EVENT_CHANNELS[event]]
    if None in scopes:
        return None
    return scopes[0]


@dataclass(frozen=True, slots=True)
class Registration:
    url: str
    filters: Filters
    description: str


class RegistrationRules:
    def __init__(self, settings: WebhookSettings, chains: ChainRegistry) -> None:
        self._settings = settings
        self._chains = chains

    def check(self, wire: WebhookRequest, principal: Principal) -> Registration:
        url = self.check_url(wire.url)
        events = self._events(wire.events, principal)
        chains = frozenset(self._chains.get(name, field="chains").name
                           for name in wire.chains or ())
        makers = self._makers(wire.makers or [])
        description = wire.description
        if len(description) > MAX_DESCRIPTION or any(ch < " " for ch in description):
            raise ValidationError(
                f"description: at most {MAX_DESCRIPTION} characters, no control characters",
                code="INVALID_FIELD", details={"field": "description"})
        return Registration(url=url, filters=Filters(events, chains, makers),
                            description=description)

    def check_url(self, url: str) -> str:
        def refuse(code: str, message: str) -> ValidationError:
            return ValidationError(f"url: {message}", code=code, details={"field": "url"})

        if len(url) > MAX_URL:
            raise refuse("INVALID_URL", f"longer than {MAX_URL} characters")
        if _CONTROL.search(url):
            raise refuse("INVALID_URL", "contains spaces or control characters")
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("https", "http") or not parts.netloc:
            raise refuse("INVALID_URL", "must be an absolute https:// URL")
        try:
            port = parts.port
        except ValueError:
            raise refuse("INVALID_URL", "has a bad port") from None
        host = (parts.hostname or "").rstrip(".")
        if not host or port == 0:
            raise refuse("INVALID_URL", "needs a host (and a port above 0)")
        if parts.username is not None or parts.password is not None:
            raise refuse("INVALID_URL", "must not carry credentials")
        if parts.fragment or url.endswith("#"):
            raise refuse("INVALID_URL", "must not have a fragment")
        loopback, private = _classify(host)
        if scheme == "http":
            if not (loopback and self._settings.allow_http_loopback):
                raise refuse("INSECURE_URL", "must use https (plain http only to loopback,"
                             " with webhooks.allow_http_loopback)")
        elif private and not self._settings.allow_private_hosts:
            raise refuse("FORBIDDEN_HOST", "points at a loopback, private or reserved"
                         " address (allowed only with webhooks.allow_private_hosts)")
        return url

    def _events(self, names: list[str] | None, principal: Principal) -> frozenset[str]:
        if names is None:
            return frozenset(e for e in WEBHOOK_EVENTS
                             if (scope := event_scope(e)) is None or principal.allows(scope))
        if not names:
            raise ValidationError("events: name at least one event, or omit the field for all",
                                  code="INVALID_FILTER", details={"field": "events"})
        for name in names:
            if name in NOT_BY_WEBHOOK:
                raise ValidationError(
                    f"events: {name} is not sent by webhook; subscribe on the WebSocket",
                    code="UNSUPPORTED_EVENT", details={"field": "events", "event": name})
            if name not in EVENT_CHANNELS:
                raise ValidationError(f"events: unknown event {name!r}", code="UNKNOWN_EVENT",
                                      details={"field": "events", "event": name,
                                               "known": list(WEBHOOK_EVENTS)})
            scope = event_scope(name)
            if scope is not None and not principal.allows(scope):
                raise ForbiddenScope(f"events: {name} needs an API key with the {scope} scope",
                                     details={"event": name, "scope": str(scope)})
        return frozenset(names)

    def _makers(self, makers: list[str]) -> frozenset[str]:
        if len(makers) > self._settings.max_makers:
            raise ValidationError(f"makers: at most {self._settings.max_makers}",
                                  code="INVALID_FILTER", details={"field": "makers"})
        found = set()
        for text in makers:
            found.add(self._canonical_address(text))
        return frozenset(found)

    def _canonical_address(self, text: str) -> str:
        for name in self._chains.names():
            try:
                return self._chains.get(name, field="makers").parse_address(
                    text, field="makers").text
            except ValidationError:
                continue
        raise ValidationError(f"makers: {text!r} is not an address of any known chain",
                              code="INVALID_ADDRESS", details={"field": "makers"})


def _classify(host: str) -> tuple[bool, bool]:
    """``(loopback, private)`` for a host name or address literal; ``private``
    covers loopback, private, link-local, reserved and unspecified addresses."""
    lowered = host.lower()
    if lowered == "localhost" or lowered.endswith(".localhost"):
        return True, True
    try:
        address = ipaddress.ip_address(lowered.strip("[]"))
    except ValueError:
        return False, False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    private = (address.is_private or address.is_loopback or address.is_link_local
               or address.is_reserved or address.is_unspecified or address.is_multicast)
    return address.is_loopback, private
