"""The relayer's HTTP API as a resolver (and a demo maker) uses it.

Answers are decoded into the same wire structs the relayer encodes them with,
and orders into the relayer's own model, so the resolver reasons about exactly
what a maker signed. A relayer that does not answer raises
``RelayerUnavailable``: callers retry, since a restart of the relayer must not
lose a swap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import msgspec

from relayer.chains.events import EscrowImmutables, EscrowRole
from relayer.errors import RelayerError
from relayer.orders.codec import order_from_wire, signature_from_wire
from relayer.orders.model import SignedOrder, UtxoRef
from relayer.orders.wire import OrderSubmissionWire
from relayer.public.fills import EscrowView, FillList, FillView, PublicActionList, SecretList
from relayer.public.views import OrderList, OrderView
from resolver.chains import LineageFill

OPEN_STATUSES = ("active", "partially_filled")
T = TypeVar("T")


class RelayerUnavailable(RelayerError):
    default_code = "RELAYER_UNAVAILABLE"


class RelayerRefused(RelayerError):
    """The relayer answered with an error code (``code``) for this request."""

    default_code = "RELAYER_REFUSED"


@dataclass(frozen=True, slots=True)
class OrderState:
    signed: SignedOrder
    status: str
    filled: int
    """Making amount in source escrows the relayer indexed."""


@dataclass(frozen=True, slots=True)
class EscrowRef:
    """An escrow as the relayer indexed it."""

    chain: str
    escrow: str
    immutables: EscrowImmutables
    tx_id: str = ""
    """The transaction that created it."""


@dataclass(frozen=True, slots=True)
class FillState:
    fill_id: str
    idx: int
    status: str
    reasons: tuple[str, ...]
    src: EscrowRef | None = None
    """The fill's source escrow (None once it left the chain)."""


@dataclass(frozen=True, slots=True)
class PublicAction:
    action: str
    """``public_withdraw`` or ``public_cancel``."""
    order_hash: str
    fill_id: str
    escrow: EscrowRef
    secret: bytes | None


class RelayerClient:
    def __init__(self, base_url: str, *, api_key: str | None = None,
                 timeout: float = 10.0) -> None:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout)

    async def close(self) -> None:
        await self._http.aclose()

    async def open_orders(self) -> list[OrderState]:
        found: list[OrderState] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"status": ",".join(OPEN_STATUSES), "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = await self._get("/api/orders", OrderList, params=params)
            found.extend(_order_state(o) for o in page.orders)
            cursor = page.next_cursor
            if not cursor:
                return found

    async def order(self, order_hash: str) -> OrderState:
        return _order_state(await self._get(f"/api/orders/{order_hash}", OrderView))

    async def fills(self, order_hash: str) -> list[FillState]:
        answer = await self._get(f"/api/orders/{order_hash}/fills", FillList)
        return [_fill_state(f) for f in answer.fills]

    async def ready_fills(self, order_hash: str) -> list[FillState]:
        answer = await self._get(f"/api/orders/{order_hash}/ready-to-accept-secret-fills",
                                 FillList)
        return [_fill_state(f) for f in answer.fills]

    async def secrets(self, order_hash: str) -> dict[int, bytes]:
        answer = await self._get(f"/api/orders/{order_hash}/secrets", SecretList)
        return {s.idx: bytes.fromhex(s.secret[2:]) for s in answer.secrets}

    async def post_secret(self, order_hash: str, idx: int, secret: bytes) -> None:
        await self._send("POST", f"/api/orders/{order_hash}/secrets",
                         {"idx": idx, "secret": "0x" + secret.hex()})

    async def public_actions(self) -> list[PublicAction]:
        answer = await self._get("/api/actions/public", PublicActionList)
        return [PublicAction(a.action, a.order_hash, a.fill_id, _escrow_ref(a.escrow),
                             bytes.fromhex(a.secret[2:]) if a.secret else None)
                for a in answer.actions]

    async def submit(self, submission: OrderSubmissionWire) -> str:
        answer = await self._send("POST", "/api/orders", msgspec.to_builtins(submission))
        return str(answer["order_hash"])

    async def custody_key(self) -> str:
        """The relayer's active custody key id (an X25519 public key as 0x hex)."""
        answer = await self._send("GET", "/api/custody/keys", None)
        return str(next(k["key_id"] for k in answer["keys"] if k["active"]))

    async def _get(self, path: str, kind: type[T], *,
                   params: dict[str, Any] | None = None) -> T:
        response = await self._request("GET", path, params=params)
        return msgspec.json.decode(response.content, type=kind)

    async def _send(self, method: str, path: str, body: Any) -> Any:
        response = await self._request(method, path, json=body)
        return response.json()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RelayerUnavailable(f"{method} {path}: {exc!r}") from exc
        if response.status_code >= 500:
            raise RelayerUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = {}
            raise RelayerRefused(f"{method} {path}: {body.get('message', response.text)}",
                                 code=str(body.get("error_code", "RELAYER_REFUSED")),
                                 details={"status": response.status_code})
        return response


def _order_state(view: OrderView) -> OrderState:
    utxo = view.src_order_utxo
    signed = SignedOrder(
        order=order_from_wire(view.order), order_hash=view.order_hash,
        signature=signature_from_wire(view.signature),
        secret_hashes=tuple(bytes.fromhex(h[2:]) for h in view.secret_hashes),
        src_order_utxo=UtxoRef(utxo.tx_id, utxo.index) if utxo else None,
    )
    return OrderState(signed=signed, status=view.status,
                      filled=int(view.filled_making_amount))


def _escrow_ref(view: EscrowView) -> EscrowRef:
    return EscrowRef(view.chain, view.escrow, EscrowImmutables(
        order_hash=view.order_hash, hashlock=view.hashlock, maker=view.maker,
        taker=view.taker, token=view.token, amount=int(view.amount),
        safety_deposit=int(view.safety_deposit), timelocks=int(view.timelocks)),
        tx_id=view.tx_id)


def _fill_state(view: FillView) -> FillState:
    src = None if view.src_escrow is None else _escrow_ref(view.src_escrow)
    return FillState(view.fill_id, view.idx, str(view.status), tuple(view.reasons), src)


NOT_IN_LINEAGE = frozenset({"foreign", "reverted"})
"""Fill statuses whose source escrow is not (or no longer) a fill of the maker's lock:
a forged or unregistered lock's, one that left the chain."""


def lineage_of(fills: list[FillState], src_chain: str) -> tuple[LineageFill, ...]:
    """The fills that took from the maker's own lock: every fill of the order the
    relayer does not call foreign (or reverted), on the order's source chain."""
    return tuple(LineageFill(tx_id=f.src.tx_id, amount=f.src.immutables.amount)
                 for f in fills
                 if f.status not in NOT_IN_LINEAGE and f.src is not None
                 and f.src.chain == src_chain and f.src.tx_id)


def role_of(order_src_chain: str, ref: EscrowRef) -> EscrowRole:
    return EscrowRole.SRC if ref.chain == order_src_chain else EscrowRole.DST
