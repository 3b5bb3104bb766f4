"""One key's transactions on an EVM chain: signed here, sent one at a time, awaited.

``EvmSender`` estimates a call (a refusal is decoded to the contract's custom error
and nothing is sent), signs an EIP-1559 transaction with the key (no node-side
accounts), takes the nonce from the node's ``pending`` count under a lock so that
concurrent sends do not collide, and polls for the receipt until a deadline: with
anvil's automine the receipt is there at once, with ``--block-time`` or a real
chain it comes with a later block. A lost answer to the send is met by sending the
same signed bytes again; a refusal of that copy is checked against the node's
knowledge of the hash. A transaction mined but reverted is replayed with
``eth_call`` on its block's parent at its block's time to name the error, and the
error carries what it paid (``tx_id``, ``fee``, ``block_time``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_account import Account
from web3 import AsyncHTTPProvider, AsyncWeb3
from web3.types import RPCEndpoint

from relayer.chains.ethereum.addresses import to_checksum
from relayer.chains.ethereum.rpc import BlockHeader
from relayer.signing.keccak import keccak256
from resolver import errors
from resolver.chains import Sent
from resolver.errors import WalletError

log = structlog.get_logger(__name__)

CHAIN_UNAVAILABLE = "CHAIN_UNAVAILABLE"
"""The node could not be reached (no answer, HTTP error)."""

_WINDOW_NOT_OPEN = frozenset({"TooEarly"})
_WINDOW_CLOSED = frozenset({"TooLate", "OrderExpired"})
_NO_FUNDS = frozenset({"InsufficientBalance", "InsufficientAllowance"})


@dataclass(frozen=True, slots=True)
class Revert:
    """A custom error decoded from revert data."""

    name: str
    args: tuple[Any, ...] = ()

    def __str__(self) -> str:
        return f"{self.name}({', '.join(map(str, self.args))})"


class ErrorTable:
    """The custom errors of some contract ABIs, by selector."""

    def __init__(self, abis: Iterable[Sequence[Mapping[str, Any]]]) -> None:
        self._errors: dict[bytes, tuple[str, list[str]]] = {}
        for abi in abis:
            for item in abi:
                if item.get("type") == "error":
                    types = [str(i["type"]) for i in item["inputs"]]
                    sig = f"{item['name']}({','.join(types)})"
                    self._errors[keccak256(sig.encode())[:4]] = (str(item["name"]), types)

    def decode(self, data: bytes) -> Revert | None:
        found = self._errors.get(data[:4]) if len(data) >= 4 else None
        if found is None:
            return None
        name, types = found
        try:
            return Revert(name, tuple(abi_decode(types, data[4:])))
        except DecodingError:
            return Revert(name)


def revert_code(name: str) -> str:
    """The wallet error code for a contract's custom error."""
    if name in _WINDOW_NOT_OPEN:
        return errors.WINDOW_NOT_OPEN
    if name in _WINDOW_CLOSED:
        return errors.WINDOW_CLOSED
    if name in _NO_FUNDS:
        return errors.INSUFFICIENT_FUNDS
    return errors.TX_REJECTED


@dataclass(frozen=True, slots=True)
class Mined:
    """A successful transaction: what the wallet reports and what it derives from."""

    sent: Sent
    receipt: Mapping[str, Any]
    """As ``eth_getTransactionReceipt`` answers it (hex strings)."""
    block: BlockHeader
    data: bytes
    """The transaction's input."""


class EvmSender:
    def __init__(self, *, rpc_url: str, private_key: bytes, chain_id: int,
                 error_table: ErrorTable, priority_fee: int = 10**9,
                 receipt_timeout: float = 120.0, poll_interval: float = 0.1,
                 request_timeout: float = 30.0) -> None:
        self._account = Account.from_key(private_key)
        self.address = to_checksum(bytes.fromhex(self._account.address[2:]))
        self.chain_id = chain_id
        self._errors = error_table
        self._priority_fee = priority_fee
        self._receipt_timeout = receipt_timeout
        self._poll_interval = poll_interval
        self.w3 = AsyncWeb3(AsyncHTTPProvider(
            rpc_url, request_kwargs={"timeout": aiohttp.ClientTimeout(total=request_timeout)}))
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ JSON-RPC

    async def rpc(self, method: str, *params: Any) -> Any:
        """One call's ``result``; a node's error answer raises ``_NodeError`` (a
        ``WalletError``), an unreachable node ``WalletError`` ``CHAIN_UNAVAILABLE``."""
        try:
            answer = await self.w3.provider.make_request(RPCEndpoint(method), list(params))
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise WalletError(f"ethereum node unreachable ({method}): {exc}",
                              code=CHAIN_UNAVAILABLE, details={"method": method}) from exc
        if "error" in answer:
            raise _NodeError(method, dict(answer["error"]))
        return answer.get("result")

    async def block(self, number: int | str) -> BlockHeader:
        tag = hex(number) if isinstance(number, int) else number
        raw = await self.rpc("eth_getBlockByNumber", tag, False)
        if raw is None:
            raise WalletError(f"the node has no block {tag}", code=CHAIN_UNAVAILABLE)
        return BlockHeader.from_json(raw)

    async def call(self, to: str, data: bytes, *, value: int = 0) -> bytes:
        """``eth_call`` at the latest block; a revert raises ``WalletError``."""
        tx = {"from": self.address, "to": to, "data": "0x" + data.hex(), "value": hex(value)}
        try:
            result = await self.rpc("eth_call", tx, "latest")
        except _NodeError as exc:
            raise self._refused(exc, f"call to {to}", sent=False) from None
        return bytes.fromhex(str(result)[2:])

    # ------------------------------------------------------------------ transactions

    async def send(self, to: str, data: bytes, *, value: int = 0, what: str = "transaction",
                   gas: int | None = None) -> Mined:
        """Send one transaction and wait for it; ``gas`` skips the estimate."""
        tx: dict[str, Any] = {"from": self.address, "to": to, "data": "0x" + data.hex(),
                              "value": hex(value)}
        if gas is None:
            try:
                estimate = int(await self.rpc("eth_estimateGas", tx), 16)
            except _NodeError as exc:
                raise self._refused(exc, what, sent=False) from None
            gas = estimate + estimate // 5
        async with self._lock:
            nonce = int(await self.rpc("eth_getTransactionCount", self.address, "pending"), 16)
            base_fee = (await self.block("latest")).base_fee
            signed = self._account.sign_transaction({
                "type": 2, "chainId": self.chain_id, "nonce": nonce, "to": to,
                "value": value, "data": data, "gas": gas,
                "maxFeePerGas": 2 * base_fee + self._priority_fee,
                "maxPriorityFeePerGas": self._priority_fee,
            })
            tx_id = "0x" + bytes(signed.hash).hex()
            await self._broadcast("0x" + bytes(signed.raw_transaction).hex(), tx_id, what)
        log.info("ethereum_tx_sent", what=what, tx_id=tx_id, nonce=nonce, gas=gas)
        receipt = await self._receipt(tx_id, what)
        block = await self.block(int(receipt["blockNumber"], 16))
        fee = int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
        if int(receipt["status"], 16) != 1:
            error = await self._reverted(tx, block, tx_id, what)
            # Mined: the gas is paid all the same, and the caller's accounting needs it.
            error.details.update(tx_id=tx_id.lower(), fee=fee, block_time=block.timestamp)
            raise error
        return Mined(sent=Sent(tx_id=tx_id.lower(), fee=fee, block_time=block.timestamp),
                     receipt=receipt, block=block, data=data)

    async def _broadcast(self, raw: str, tx_id: str, what: str) -> None:
        """Hand the signed transaction to the node. Without an answer the same bytes go
        again (same nonce, same hash); a node refuses a transaction it already has
        ("already known", "nonce too low" once mined), so after a resend a refusal is
        checked: the node knowing this very hash is the transaction going through."""
        deadline = time.monotonic() + self._receipt_timeout
        resent = False
        while True:
            try:
                await self.rpc("eth_sendRawTransaction", raw)
                return
            except _NodeError as exc:
                if resent and await self._known(tx_id):
                    log.info("ethereum_tx_already_known", what=what, tx_id=tx_id)
                    return
                raise self._refused(exc, what, sent=False) from None
            except WalletError as exc:  # no answer: the node may have it or not
                if time.monotonic() >= deadline:
                    raise WalletError(f"{what} {tx_id}: no answer from the node in time",
                                      code=errors.TX_NOT_INCLUDED,
                                      details={"tx_id": tx_id}) from exc
                log.warning("ethereum_node_answer_lost", what=what, tx_id=tx_id,
                            error=exc.message)
                resent = True
                await asyncio.sleep(self._poll_interval)

    async def _known(self, tx_id: str) -> bool:
        """Whether the node has the transaction ``tx_id`` (pending or mined)."""
        return await self.rpc("eth_getTransactionByHash", tx_id) is not None

    async def _receipt(self, tx_id: str, what: str) -> Mapping[str, Any]:
        deadline = time.monotonic() + self._receipt_timeout
        while True:
            receipt = await self.rpc("eth_getTransactionReceipt", tx_id)
            if receipt is not None and receipt.get("blockNumber"):
                found: Mapping[str, Any] = receipt
                return found
            if time.monotonic() >= deadline:
                raise WalletError(
                    f"{what} {tx_id} not mined within {self._receipt_timeout:g} s",
                    code=errors.TX_NOT_INCLUDED, details={"tx_id": tx_id})
            await asyncio.sleep(self._poll_interval)

    async def _reverted(self, tx: dict[str, Any], block: BlockHeader, tx_id: str,
                        what: str) -> WalletError:
        """The error of a mined transaction that reverted, named by replaying it."""
        replay = {**tx, "gas": hex(30_000_000)}
        try:
            await self.rpc("eth_call", replay, hex(max(block.number - 1, 0)), {},
                           {"time": hex(block.timestamp)})
        except _NodeError as exc:
            return self._refused(exc, what, sent=True, tx_id=tx_id)
        except WalletError:
            pass
        return WalletError(f"{what} {tx_id} reverted (reason unknown)",
                           code=errors.TX_REJECTED, details={"tx_id": tx_id, "error": None})

    def _refused(self, exc: _NodeError, what: str, *, sent: bool,
                 tx_id: str | None = None) -> WalletError:
        details: dict[str, Any] = {"sent": sent, "node_message": exc.node_message}
        if tx_id is not None:
            details["tx_id"] = tx_id
        revert = self._errors.decode(exc.revert_data) if exc.revert_data else None
        if revert is not None:
            details.update(error=revert.name, args=[str(a) for a in revert.args])
            verb = "reverted" if sent else "would revert"
            return WalletError(f"{what} {verb}: {revert}", code=revert_code(revert.name),
                               details=details)
        lowered = exc.node_message.lower()
        code = (errors.INSUFFICIENT_FUNDS if "insufficient funds" in lowered
                else errors.TX_REJECTED)
        return WalletError(f"{what} refused by the node: {exc.node_message}", code=code,
                           details=details)

    async def close(self) -> None:
        await self.w3.provider.disconnect()


class _NodeError(WalletError):
    """A JSON-RPC error answer; where a transaction is at stake it becomes a more
    precise ``WalletError`` (the decoded revert, a refusal)."""

    default_code = "CHAIN_RPC_ERROR"

    def __init__(self, method: str, error: Mapping[str, Any]) -> None:
        message = str(error.get("message", error))
        super().__init__(f"{method}: {message}", details={"method": method})
        self.node_message = message
        data = error.get("data")
        if isinstance(data, Mapping):  # some nodes nest it
            data = data.get("data")
        text = str(data) if isinstance(data, str) and data.startswith("0x") else ""
        try:
            self.revert_data = bytes.fromhex(text[2:])
        except ValueError:
            self.revert_data = b""
