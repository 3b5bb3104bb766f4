"""From raw logs to the chain-agnostic escrow events of ``relayer.chains.events``.

Creations count only when the configured factory emitted them; withdrawals,
cancellations and rescues only when they come from an escrow the relayer
knows (created earlier, or earlier in the same batch), since any contract can
emit an event with the same signature.

A source escrow's address is computed (CREATE2, ``addresses.py``). A
``DstEscrowCreated`` names the escrow but not its immutables, so they are read
from the creating transaction's input: the 8 words of ``createDstEscrow``'s
first argument, found at the start of a direct call or anywhere in the input
of a resolver contract that passed them through, and accepted only if they
hash to the escrow's address once ``deployedAt`` is set to the block's time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import structlog
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode
from eth_abi.exceptions import DecodingError

from relayer.chains.ethereum.abi import EscrowAbi, EventKind
from relayer.chains.ethereum.addresses import EscrowAddresses, to_checksum, with_deployed_at
from relayer.chains.ethereum.rpc import BlockHeader, EthereumRpc, RawLog, RpcError, Transaction
from relayer.chains.events import (
    ChainPoint,
    DstComplement,
    EscrowCancelled,
    EscrowCreated,
    EscrowEvent,
    EscrowImmutables,
    EscrowRole,
    EscrowWithdrawn,
    FundsRescued,
)

log = structlog.get_logger(__name__)

NON_EVM_CHAIN_ID_MIN = 1 << 64
"""Chain ids from here up name non-EVM chains (docs/protocol.md)."""


def hex32(value: int) -> str:
    return "0x" + value.to_bytes(32, "big").hex()


@dataclass(slots=True)
class Derived:
    events: list[EscrowEvent] = field(default_factory=list)
    skipped: int = 0
    """Logs with the right topic that were not ours or could not be understood."""


@dataclass(frozen=True, slots=True)
class LogRef:
    """A log's place: ``(transaction hash, log index)``."""

    tx_id: str
    index: int


class EventDeriver:
    def __init__(self, *, chain: str, abi: EscrowAbi, factory: str,
                 addresses: EscrowAddresses) -> None:
        self._chain = chain
        self._abi = abi
        self._factory = factory.lower()
        self._addresses = addresses

    def derive(
        self,
        logs: Iterable[RawLog],
        blocks: Mapping[int, BlockHeader],
        is_known: Callable[[str], bool],
        transactions: Mapping[str, Transaction] | None = None,
        src_addresses: Mapping[LogRef, str] | None = None,
    ) -> Derived:
        """Events of ``logs`` (in chain order). ``blocks`` must hold the block of every
        log without ``blockTimestamp``, ``transactions`` the transaction of every
        DstEscrowCreated, ``src_addresses`` the escrow of every fee-variant
        SrcEscrowCreated."""
        out = Derived()
        created_here: set[str] = set()
        for raw in logs:
            topics = raw.get("topics") or ()
            event = self._abi.events.get(str(topics[0]).lower()) if topics else None
            if event is None:
                out.skipped += 1
                continue
            address = str(raw["address"]).lower()
            if event.kind.from_factory != (address == self._factory):
                out.skipped += 1
                continue
            try:
                values = event.decode(bytes.fromhex(str(raw["data"])[2:]))
                point = self._point(raw, blocks)
                derived = self._event(event.kind, values, point, address, transactions or {},
                                      src_addresses or {}, is_known, created_here)
            except (ValueError, KeyError) as exc:
                log.warning("ethereum_log_not_decoded", tx_id=raw.get("transactionHash"),
                            log_index=raw.get("logIndex"), error=str(exc))
                out.skipped += 1
                continue
            if derived is None:
                out.skipped += 1
                continue
            if isinstance(derived, EscrowCreated):
                created_here.add(derived.escrow)
            out.events.append(derived)
        return out

    def _point(self, raw: RawLog, blocks: Mapping[int, BlockHeader]) -> ChainPoint:
        height = int(raw["blockNumber"], 16)
        stamp = raw.get("blockTimestamp")
        timestamp = int(stamp, 16) if stamp else blocks[height].timestamp
        return ChainPoint(chain=self._chain, height=height, slot=height,
                          block_id=str(raw["blockHash"]).lower(), timestamp=timestamp,
                          tx_id=str(raw["transactionHash"]).lower(),
                          index=int(raw["logIndex"], 16))

    def _event(self, kind: EventKind, values: tuple[int, ...], point: ChainPoint,
               address: str, transactions: Mapping[str, Transaction],
               src_addresses: Mapping[LogRef, str], is_known: Callable[[str], bool],
               created_here: set[str]) -> EscrowEvent | None:
        if kind is EventKind.SRC_CREATED or kind is EventKind.SRC_CREATED_WITH_PARAMETERS:
            immutables, complement = values[:8], values[8:13]
            if kind is EventKind.SRC_CREATED:
                escrow = to_checksum(self._addresses.src(immutables))
            else:
                found = src_addresses.get(LogRef(point.tx_id, point.index))
                if found is None:
                    return None
                escrow = found
            return EscrowCreated(role=EscrowRole.SRC, escrow=escrow,
                                 immutables=_immutables(immutables),
                                 complement=_complement(complement), point=point)
        if kind is EventKind.DST_CREATED:
            return self._dst_created(values, point, transactions)
        escrow = to_checksum(int(address, 16))
        if escrow not in created_here and not is_known(escrow):
            return None
        if kind is EventKind.WITHDRAWAL:
            return EscrowWithdrawn(escrow=escrow, secret=hex32(values[0]), point=point)
        if kind is EventKind.CANCELLED:
            return EscrowCancelled(escrow=escrow, point=point)
        return FundsRescued(escrow=escrow, token=to_checksum(values[0]), amount=values[1],
                            point=point)

    def _dst_created(self, values: tuple[int, ...], point: ChainPoint,
                     transactions: Mapping[str, Transaction]) -> EscrowCreated | None:
        escrow_int, hashlock, taker = values[:3]
        escrow = (escrow_int & ((1 << 160) - 1)).to_bytes(20, "big")
        tx = transactions.get(point.tx_id)
        if tx is None:
            raise KeyError(f"transaction {point.tx_id} not fetched")
        immutables = self._find_dst_immutables(tx.input, escrow, hashlock, taker,
                                               point.timestamp)
        if immutables is None:
            log.warning("ethereum_dst_immutables_not_found", escrow=to_checksum(escrow),
                        tx_id=point.tx_id)
            return None
        return EscrowCreated(role=EscrowRole.DST, escrow=to_checksum(escrow),
                             immutables=_immutables(immutables), complement=None, point=point)

    def _find_dst_immutables(self, data: bytes, escrow: bytes, hashlock: int, taker: int,
                             deployed_at: int) -> tuple[int, ...] | None:
        """The 8 immutables words in ``data`` that hash to ``escrow``. They are found by
        the hashlock (their second word) at any byte offset, so a call passed through a
        resolver contract as ``bytes`` is read as well as a direct call."""
        needle = hashlock.to_bytes(32, "big")
        at = data.find(needle, 32)
        while at != -1:
            start = at - 32
            if start + 256 <= len(data):
                words = [int.from_bytes(data[i:i + 32], "big")
                         for i in range(start, start + 256, 32)]
                if words[3] == taker:
                    words[7] = with_deployed_at(words[7], deployed_at)
                    if self._addresses.dst(words) == escrow:
                        return tuple(words)
            at = data.find(needle, at + 1)
        return None


def _immutables(words: tuple[int, ...]) -> EscrowImmutables:
    return EscrowImmutables(
        order_hash=hex32(words[0]), hashlock=hex32(words[1]), maker=to_checksum(words[2]),
        taker=to_checksum(words[3]), token=to_checksum(words[4]), amount=words[5],
        safety_deposit=words[6], timelocks=words[7],
    )


def _complement(words: tuple[int, ...]) -> DstComplement:
    maker, amount, token, deposit, chain_id = words[:5]
    if chain_id < NON_EVM_CHAIN_ID_MIN:
        return DstComplement(maker=to_checksum(maker), amount=amount, token=to_checksum(token),
                             safety_deposit=deposit, chain_id=chain_id)
    # A non-EVM destination's receiver and asset do not fit a word: the factory emits
    # keccak256 of their bytes (docs/protocol.md), kept here as 0x hex.
    return DstComplement(maker=hex32(maker), amount=amount, token=hex32(token),
                         safety_deposit=deposit, chain_id=chain_id)


async def fee_variant_addresses(rpc: EthereumRpc, abi: EscrowAbi, factory: str,
                                logs: Sequence[RawLog]) -> dict[LogRef, str]:
    """The escrow of every fee-variant ``SrcEscrowCreated`` in ``logs``, asked from the
    factory (``addressOfEscrowSrc`` with parameters) at the log's block: how such a
    factory hashes the parameters into the CREATE2 salt is its own business."""
    found: dict[LogRef, str] = {}
    for raw in logs:
        topics = raw.get("topics") or ()
        event = abi.events.get(str(topics[0]).lower()) if topics else None
        if (event is None or event.kind is not EventKind.SRC_CREATED_WITH_PARAMETERS
                or str(raw["address"]).lower() != factory.lower()):
            continue
        try:
            immutables, _ = abi_decode(list(event.types), bytes.fromhex(str(raw["data"])[2:]))
        except (DecodingError, ValueError) as exc:
            log.warning("ethereum_log_not_decoded", tx_id=raw.get("transactionHash"),
                        error=str(exc))
            continue
        data = abi.address_of_src_with_parameters + abi_encode([event.types[0]], [immutables])
        try:
            answer = await rpc.call(factory, data, block=int(raw["blockNumber"], 16))
        except RpcError as exc:
            log.warning("ethereum_src_escrow_address_unknown",
                        tx_id=raw.get("transactionHash"), error=exc.message)
            continue
        if len(answer) == 32:
            ref = LogRef(str(raw["transactionHash"]).lower(), int(raw["logIndex"], 16))
            found[ref] = to_checksum(answer[12:])
    return found
