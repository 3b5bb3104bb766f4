"""Order routes: submit, list, read, price, cancel."""

from __future__ import annotations

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from relayer.api.requests import int_param, read_json, str_param
from relayer.auction.gas import BaseFeeSource
from relayer.clock import Clock
from relayer.errors import ValidationError
from relayer.networks.registry import ChainRegistry
from relayer.orders.book import OrderFilter
from relayer.orders.desk import OrderDesk
from relayer.orders.status import OrderStatus
from relayer.orders.wire import CancelWire, OrderSubmissionWire
from relayer.public.views import OrderRenderer, SubmitResult, decode_cursor, price_of

_submission = msgspec.json.Decoder(OrderSubmissionWire)
_cancel = msgspec.json.Decoder(CancelWire)
_encoder = msgspec.json.Encoder()
_JSON = "application/json"
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


class OrderRoutes:
    def __init__(self, *, desk: OrderDesk, chains: ChainRegistry, clock: Clock,
                 base_fee: BaseFeeSource, renderer: OrderRenderer) -> None:
        self._desk = desk
        self._chains = chains
        self._clock = clock
        self._base_fee = base_fee
        self._renderer = renderer

    async def submit(self, request: Request) -> Response:
        wire = await read_json(request, _submission)
        entry = await self._desk.submit(wire)
        body = _encoder.encode(SubmitResult(order_hash=entry.order_hash, status=entry.status))
        return Response(body, status_code=201, media_type=_JSON,
                        headers={"Location": f"/api/orders/{entry.order_hash}"})

    async def list(self, request: Request) -> Response:
        where = self._filter(request)
        return self._page(request, where)

    async def by_maker(self, request: Request) -> Response:
        maker = self._canonical_address(request.path_params["address"], "address")
        where = self._filter(request)
        return self._page(request, OrderFilter(
            statuses=where.statuses, src_chain=where.src_chain, dst_chain=where.dst_chain,
            maker=maker, maker_asset=where.maker_asset, taker_asset=where.taker_asset))

    async def get(self, request: Request) -> Response:
        entry = self._desk.get(request.path_params["order_hash"])
        now = int(self._clock.now())
        return Response(self._renderer.order(entry, now, self._base_fee.base_fee()),
                        media_type=_JSON)

    async def auction(self, request: Request) -> Response:
        entry = self._desk.get(request.path_params["order_hash"])
        at = int_param(request, "at", default=int(self._clock.now()),
                       maximum=(1 << 32) - 1)
        price = price_of(entry, at, self._base_fee.base_fee())
        return Response(_encoder.encode(price), media_type=_JSON)

    async def cancel(self, request: Request) -> Response:
        wire = await read_json(request, _cancel)
        entry = await self._desk.cancel(request.path_params["order_hash"], wire)
        body = _encoder.encode(SubmitResult(order_hash=entry.order_hash, status=entry.status))
        return Response(body, media_type=_JSON)

    def _page(self, request: Request, where: OrderFilter) -> Response:
        limit = int_param(request, "limit", default=DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        cursor = str_param(request, "cursor")
        after = decode_cursor(cursor) if cursor else 0
        entries, next_position = self._desk.book.query(where, after=after, limit=limit)
        now = int(self._clock.now())
        body = self._renderer.page(entries, next_position, now,
                                           self._base_fee.base_fee())
        return Response(body, media_type=_JSON)

    def _filter(self, request: Request) -> OrderFilter:
        chains = self._chains
        statuses: set[OrderStatus] = set()
        for text in (str_param(request, "status") or "").split(","):
            if not text:
                continue
            try:
                statuses.add(OrderStatus(text))
            except ValueError:
                raise ValidationError(
                    f"unknown status {text!r}", code="INVALID_PARAMETER",
                    details={"parameter": "status", "known": [s.value for s in OrderStatus]},
                ) from None
        src = str_param(request, "src_chain")
        dst = str_param(request, "dst_chain")
        for name, value in (("src_chain", src), ("dst_chain", dst)):
            if value is not None:
                chains.get(value, field=name)
        maker = str_param(request, "maker")
        return OrderFilter(
            statuses=frozenset(statuses), src_chain=src, dst_chain=dst,
            maker=None if maker is None else self._canonical_address(maker, "maker"),
            maker_asset=self._canonical_asset(str_param(request, "maker_asset"), src,
                                              "maker_asset"),
            taker_asset=self._canonical_asset(str_param(request, "taker_asset"), dst,
                                              "taker_asset"),
        )

    def _canonical_address(self, text: str, field: str) -> str:
        chains = self._chains
        for name in chains.names():
            try:
                return chains.get(name, field=field).parse_address(text, field=field).text
            except ValidationError:
                continue
        raise ValidationError(f"{field}: not an address of any known chain",
                              code="INVALID_ADDRESS", details={"field": field})

    def _canonical_asset(self, text: str | None, chain: str | None, field: str) -> str | None:
        if text is None:
            return None
        chains = self._chains
        for name in [chain] if chain else chains.names():
            try:
                return chains.get(name, field=field).asset(text, field=field).id
            except ValidationError:
                continue
        raise ValidationError(f"{field}: unknown asset {text!r}", code="UNKNOWN_ASSET",
                              details={"field": field})
