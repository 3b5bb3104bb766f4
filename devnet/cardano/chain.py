"""The chain: blocks over the UTxO ledger, the mempool, forging, rollbacks and followers."""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

import cbor2
import orjson
import structlog

from devnet.cardano.encoders import transaction_json
from devnet.cardano.errors import OgmiosError
from devnet.cardano.genesis import Genesis
from devnet.cardano.ledger import UtxoOverlay, UtxoSet
from devnet.cardano.model import DecodedTx, blake2b_256
from devnet.cardano.validation import ValidatedTx, Validator

log = structlog.get_logger(__name__)

# A point: (slot, block id), or None for the origin.
Point = tuple[int, bytes] | None


def point_json(point: Point) -> Any:
    if point is None:
        return "origin"
    return {"slot": point[0], "id": point[1].hex()}


@dataclass(slots=True)
class Block:
    height: int
    slot: int
    id: bytes
    ancestor: bytes | None
    transactions: list[ValidatedTx]
    json: bytes = b""

    @property
    def point(self) -> Point:
        return (self.slot, self.id)


@dataclass(slots=True, eq=False)
class Follower:
    """A chain-sync cursor; `rollback` is the point the next answer must roll back to."""

    cursor: int = 0
    rollback: Point = None
    pending_rollback: bool = True


@dataclass(frozen=True, slots=True)
class Issuer:
    """The (fake) stake pool that forges every block; keys are random but well-formed."""

    verification_key: str
    vrf_verification_key: str
    kes_verification_key: str

    @classmethod
    def from_seed(cls, seed: bytes) -> Issuer:
        def derive(label: bytes) -> str:
            return hashlib.blake2b(seed + label, digest_size=32).hexdigest()

        return cls(derive(b"cold"), derive(b"vrf"), derive(b"kes"))


@dataclass(slots=True)
class _Mempool:
    transactions: list[ValidatedTx] = field(default_factory=list)


class Chain:
    def __init__(self, genesis: Genesis, validator: Validator, issuer: Issuer) -> None:
        self.genesis = genesis
        self.validator = validator
        self.issuer = issuer
        self.utxo = UtxoSet(genesis.initial_utxo())
        self.blocks: list[Block] = []
        self._index: dict[bytes, int] = {}
        self._mempool = _Mempool()
        self._followers: set[Follower] = set()
        self._changed = asyncio.Event()
        self.current_slot = genesis.first_slot

    # -- reading ------------------------------------------------------------------------

    @property
    def height(self) -> int:
        return len(self.blocks)

    @property
    def tip(self) -> Block | None:
        return self.blocks[-1] if self.blocks else None

    def tip_json(self) -> Any:
        tip = self.tip
        if tip is None:
            return "origin"
        return {"slot": tip.slot, "id": tip.id.hex(), "height": tip.height}

    def point_at(self, height: int) -> Point:
        return None if height == 0 else self.blocks[height - 1].point

    def height_of(self, point: Point) -> int | None:
        if point is None:
            return 0
        height = self._index.get(point[1])
        if height is None or self.blocks[height - 1].slot != point[0]:
            return None
        return height

    @property
    def mempool(self) -> list[ValidatedTx]:
        return list(self._mempool.transactions)

    def mempool_view(self) -> UtxoOverlay:
        overlay = UtxoOverlay(self.utxo)
        for validated in self._mempool.transactions:
            overlay.apply(validated.delta)
        return overlay

    # -- writing ------------------------------------------------------------------------

    def submit(self, tx: DecodedTx) -> ValidatedTx:
        # No shortcut for a transaction seen before: validated against the ledger plus the
        # mempool, a copy of one already there (or in a block) spends outputs that are gone
        # and is refused 3117, as a node's mempool refuses it (BadInputsUTxO).
        validated = self.validator.validate(tx, self.mempool_view(), self.current_slot)
        self._mempool.transactions.append(validated)
        log.info("cardano_tx_accepted", tx_id=tx.id_hex, spends_inputs=validated.spends_inputs)
        self._notify()
        return validated

    def forge(self, slot: int | None = None) -> Block:
        """Forge a block at `slot` (default: the current slot) holding the mempool."""
        slot = self.current_slot if slot is None else slot
        tip = self.tip
        if tip is not None and slot <= tip.slot:
            raise ValueError(f"cannot forge at slot {slot}: the tip is at slot {tip.slot}")
        self.current_slot = max(self.current_slot, slot)
        included: list[ValidatedTx] = []
        for validated in self._mempool.transactions:
            if self._still_valid(validated, slot):
                self.utxo.apply(validated.delta)
                included.append(validated)
            else:
                log.info("cardano_tx_dropped", tx_id=validated.tx.id_hex, slot=slot)
        self._mempool.transactions = []
        return self._append(slot, included)

    def append_prevalidated(self, slot: int, transactions: list[ValidatedTx]) -> Block:
        """Append a block of already-validated transactions (used to pre-build chains)."""
        for validated in transactions:
            self.utxo.apply(validated.delta)
        self.current_slot = max(self.current_slot, slot)
        return self._append(slot, transactions)

    def _still_valid(self, validated: ValidatedTx, slot: int) -> bool:
        tx = validated.tx
        if tx.validity_start is not None and slot < tx.validity_start:
            return False
        if tx.ttl is not None and slot >= tx.ttl:
            return False
        return all(ref in self.utxo for ref, _ in validated.delta.consumed)

    def _append(self, slot: int, transactions: list[ValidatedTx]) -> Block:
        tip = self.tip
        height = self.height + 1
        ancestor = tip.id if tip else None
        header = cbor2.dumps([height, slot, ancestor, [v.tx.id for v in transactions]])
        block = Block(height, slot, blake2b_256(header), ancestor, transactions)
        block.json = orjson.dumps(self._block_json(block))
        self.blocks.append(block)
        self._index[block.id] = height
        self._notify()
        return block

    def rollback(self, depth: int) -> list[Block]:
        """Drop the last `depth` blocks and undo their transactions; return the blocks,
        oldest first."""
        if not 0 < depth <= self.height:
            raise ValueError(f"cannot roll back {depth} blocks from height {self.height}")
        dropped: list[Block] = []
        for _ in range(depth):
            block = self.blocks.pop()
            del self._index[block.id]
            for validated in reversed(block.transactions):
                self.utxo.undo(validated.delta)
            dropped.insert(0, block)
        new_height = self.height
        point = self.point_at(new_height)
        for follower in self._followers:
            if follower.cursor > new_height:
                follower.cursor = new_height
                follower.rollback = point
                follower.pending_rollback = True
        log.info("cardano_rollback", depth=depth, height=new_height)
        self._notify()
        return dropped

    def requeue(self, transactions: list[ValidatedTx]) -> None:
        """Put transactions back in front of the mempool (after a rollback)."""
        self._mempool.transactions[:0] = transactions

    # -- chain sync ---------------------------------------------------------------------

    def follow(self) -> Follower:
        follower = Follower()
        self._followers.add(follower)
        return follower

    def unfollow(self, follower: Follower) -> None:
        self._followers.discard(follower)

    def find_intersection(self, follower: Follower, points: list[Point]) -> Point:
        for point in points:
            height = self.height_of(point)
            if height is not None:
                follower.cursor = height
                follower.rollback = point
                follower.pending_rollback = True
                return point
        raise OgmiosError(
            1000, "No intersection found with the given points.", {"tip": self.tip_json()}
        )

    async def next_block(self, follower: Follower) -> bytes:
        """The `nextBlock` result (JSON bytes); waits for a block past the cursor."""
        while True:
            if follower.pending_rollback:
                follower.pending_rollback = False
                return (
                    b'{"direction":"backward","point":'
                    + orjson.dumps(point_json(follower.rollback))
                    + b',"tip":'
                    + orjson.dumps(self.tip_json())
                    + b"}"
                )
            if follower.cursor < self.height:
                block = self.blocks[follower.cursor]
                follower.cursor += 1
                return (
                    b'{"direction":"forward","block":'
                    + block.json
                    + b',"tip":'
                    + orjson.dumps(self.tip_json())
                    + b"}"
                )
            await self.wait_for_change()

    async def wait_for_change(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- shapes -------------------------------------------------------------------------

    def _block_json(self, block: Block) -> dict[str, Any]:
        params = self.genesis.config.protocol_parameters
        txs = [transaction_json(v.tx) for v in block.transactions]
        size = 1024 + sum(v.tx.size for v in block.transactions)
        leader = hashlib.blake2b(block.id + b"leader", digest_size=32).hexdigest()
        nonce = hashlib.blake2b(block.id + b"nonce", digest_size=32).hexdigest()
        return {
            "type": "praos",
            "era": "conway",
            "id": block.id.hex(),
            "ancestor": block.ancestor.hex() if block.ancestor else "genesis",
            "nonce": {"output": nonce, "proof": (nonce * 4)[:160]},
            "height": block.height,
            "slot": block.slot,
            "size": {"bytes": size},
            "protocol": {
                "version": {"major": params.protocol_major, "minor": params.protocol_minor}
            },
            "issuer": {
                "verificationKey": self.issuer.verification_key,
                "vrfVerificationKey": self.issuer.vrf_verification_key,
                "operationalCertificate": {
                    "count": 0,
                    "kes": {
                        "period": block.slot // 129_600,
                        "verificationKey": self.issuer.kes_verification_key,
                    },
                },
                "leaderValue": {"output": leader + leader, "proof": (leader * 5)[:160]},
            },
            "transactions": txs,
        }
