"""What a new leader delivers that nobody matched yet: the log after the matched cursor.

The leader matches events as they reach its bus and advances the cursor
(``journal.MatchedCursor``) with each batch of deliveries it records. When it
dies, events committed after its last batch (by it, by followers, or while no
replica led) have no deliveries. The next leader reads those records from the
log, maps them to public events exactly as the live path does, and matches
them against the endpoints registered before each record.

Order views are rendered from the book as it stands at takeover (it already
holds every one of these records), so an ``order_updated`` delivered here
carries the order's current state, like a REST read would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import structlog

from relayer.errors import StoreError
from relayer.events.codec import EventCodec
from relayer.public.events import PublicEvent, PublicEvents
from relayer.store.base import EventStore
from relayer.webhooks.access import OwnerAccess
from relayer.webhooks.endpoint import Endpoint
from relayer.webhooks.validation import NOT_BY_WEBHOOK

log = structlog.get_logger(__name__)

_PAGE = 1_000


@dataclass(frozen=True, slots=True)
class Missed:
    position: int
    endpoint: Endpoint
    published: PublicEvent


def match(published: PublicEvent, endpoints: Sequence[Endpoint], *,
          position: int | None = None, access: OwnerAccess | None = None) -> list[Endpoint]:
    """The endpoints whose filters take ``published``; with ``position``, only those
    registered before the record at that position; with ``access``, only those whose
    owner's key may receive the event now."""
    if published.event in NOT_BY_WEBHOOK:
        return []
    chains = (None if published.src_chain is None or published.dst_chain is None
              else (published.src_chain, published.dst_chain))
    return [endpoint for endpoint in endpoints
            if (position is None or endpoint.webhook.since < position)
            and endpoint.webhook.filters.matches(published.event, chains, published.maker)
            and (access is None or access.allows(endpoint.webhook, published.event))]


class Catchup:
    def __init__(self, *, store: EventStore, codec: EventCodec, public: PublicEvents,
                 access: OwnerAccess | None = None) -> None:
        self._store = store
        self._codec = codec
        self._public = public
        self._access = access

    async def missed(self, after: int, upto: int, endpoints: Sequence[Endpoint],
                     ) -> AsyncIterator[tuple[int, list[Missed]]]:
        """Per record in ``(after, upto]`` that maps to public events: its position and
        the deliveries it owes (possibly none). Records that map to nothing are skipped."""
        position = after
        while position < upto:
            records = await self._store.read(after=position, limit=_PAGE)
            if not records:
                return
            for record in records:
                if record.position > upto:
                    return
                position = record.position
                try:
                    event = self._codec.decode(record)
                except StoreError:
                    log.warning("webhook_catchup_record_unknown", type=record.type,
                                position=record.position)
                    continue
                if not self._public.handles(type(event)):
                    continue
                owed = [Missed(record.position, endpoint, published)
                        for published in self._public.map(event)
                        for endpoint in match(published, endpoints, position=record.position,
                                              access=self._access)]
                yield record.position, owed
