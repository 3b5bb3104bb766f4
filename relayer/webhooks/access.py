"""Whether a webhook's owner may still receive an event: revocation reaches webhooks.

A webhook belongs to the API key that registered it, and its events were checked
against that key's scopes at registration (``validation.py``). Keys change later
(``POST /api/admin/keys/reload``): a webhook whose owner key was revoked, or lost
the ``webhooks`` scope, gets nothing more; one whose key lost the scope an event
needs (``secrets`` for ``secret_shared``, ``read`` for ``public_action``) stops
getting that event. It is checked when an event is matched and again before every
attempt, so deliveries already waiting (a ``secret_shared`` due for a retry) stop
too: they are marked failed without being sent.
"""

from __future__ import annotations

from relayer.security.principal import KeyLookup, Scope
from relayer.webhooks.model import Webhook
from relayer.webhooks.validation import event_scope

REVOKED = "not sent: the webhook's API key was revoked or lost the scope for this event"
"""The error recorded on a delivery that stopped for that reason."""


class OwnerAccess:
    def __init__(self, keys: KeyLookup) -> None:
        self._keys = keys

    def allows(self, webhook: Webhook, event: str) -> bool:
        owner = self._keys.principal(webhook.owner)
        if owner is None or not owner.allows(Scope.WEBHOOKS):
            return False
        scope = event_scope(event)
        return scope is None or owner.allows(scope)
