"""The chain wallet on Ethereum: one key's hands on the escrow factory and its escrows.

Transactions go through ``EvmSender`` (signed here, nonces and receipts handled
there). What a fill or a destination escrow created is read back from the
transaction's own logs with the monitor's ``EventDeriver``, so a handle carries
exactly the escrow address, immutables (``deployedAt`` included) and complement
that the relayer indexes.

Assets are named as the chain registry names them: an ERC-20 address, the zero
address for native ETH (the factory takes token ``address(0)`` as ETH); a
configured symbol (``TUSD``) is accepted too.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from web3.contract.async_contract import AsyncContract

from relayer.chains.ethereum.abi import ARTIFACTS_DIR, EscrowAbi
from relayer.chains.ethereum.addresses import EscrowAddresses
from relayer.chains.ethereum.derive import EventDeriver
from relayer.chains.ethereum.rpc import Transaction
from relayer.chains.events import EscrowCreated, EscrowImmutables, EscrowRole
from relayer.config import ChainsSettings
from relayer.errors import ConfigError, ValidationError
from relayer.networks.registry import ChainRegistry, checksum_address
from relayer.orders.validation import order_struct
from resolver import errors
from resolver.chains import DstTerms, EscrowHandle, FillPlan, Sent
from resolver.errors import WalletError
from resolver.evm_tx import ErrorTable, EvmSender, Mined

NATIVE = "0x0000000000000000000000000000000000000000"

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CONTRACTS = ("EscrowFactory", "EscrowSrc", "EscrowDst", "TestToken")


class EthereumWallet:
    """``ChainWallet`` for Ethereum, plus the maker's and the devnet's helpers
    (``approve``, ``mint``, ``send_native``)."""

    def __init__(self, *, rpc_url: str, private_key: bytes, factory: str,
                 chain: str = "ethereum", chain_id: int, chains: ChainRegistry | None = None,
                 artifacts: Path = ARTIFACTS_DIR, priority_fee: int = 10**9,
                 receipt_timeout: float = 120.0, poll_interval: float = 0.1) -> None:
        """``chains`` (default: the default configuration's) names the assets and gives
        the order's chain ids and raw addresses, as the relayer validated them."""
        self._chain = chain
        self._chains = chains or ChainRegistry.from_settings(ChainsSettings())
        configured = self._chains.get(chain, field="chain").chain_id
        if configured != chain_id:
            raise ConfigError(f"the chain registry gives {chain} chain id {configured}, "
                              f"the wallet was given {chain_id}")
        self._factory = checksum_address(factory, field="factory")
        abis = {name: _load_abi(artifacts, name) for name in _CONTRACTS}
        self._tx = EvmSender(rpc_url=rpc_url, private_key=private_key, chain_id=chain_id,
                             error_table=ErrorTable(abis.values()), priority_fee=priority_fee,
                             receipt_timeout=receipt_timeout, poll_interval=poll_interval)
        eth = self._tx.w3.eth
        self._factory_abi: type[AsyncContract] = eth.contract(abi=abis["EscrowFactory"])
        self._src_abi: type[AsyncContract] = eth.contract(abi=abis["EscrowSrc"])
        self._dst_abi: type[AsyncContract] = eth.contract(abi=abis["EscrowDst"])
        self._token_abi: type[AsyncContract] = eth.contract(abi=abis["TestToken"])
        self._events = EscrowAbi.load(artifacts)
        self._deriver: EventDeriver | None = None
        self._allowance_lock = asyncio.Lock()

    # ------------------------------------------------------------------ ChainWallet

    @property
    def chain(self) -> str:
        return self._chain

    @property
    def address(self) -> str:
        return self._tx.address

    @property
    def factory(self) -> str:
        return self._factory

    async def chain_time(self) -> int:
        return (await self._tx.block("latest")).timestamp

    async def balance(self, asset: str, address: str | None = None) -> int:
        token = self._asset(asset)
        owner = _address(address, "address") if address else self.address
        if token == NATIVE:
            return int(await self._tx.rpc("eth_getBalance", owner, "latest"), 16)
        answer = await self._tx.call(token, self._encode(self._token_abi, "balanceOf", owner))
        return int.from_bytes(answer[:32], "big")

    async def fill(self, plan: FillPlan) -> EscrowHandle:
        signed = plan.order
        order = signed.order
        if order.src_chain != self._chain:
            raise _invalid(f"order {signed.order_hash} has source chain {order.src_chain}")
        if not isinstance(signed.signature, bytes):
            raise _invalid(f"order {signed.order_hash} is not signed by an Ethereum key")
        s = order_struct(order, self._chains)
        struct = (s.salt, s.src_chain_id, s.dst_chain_id, s.maker, s.receiver, s.maker_asset,
                  s.taker_asset, s.making_amount, s.taking_amount, s.auction_details,
                  s.hashlock, s.parts, s.timelocks, s.src_safety_deposit,
                  s.dst_safety_deposit, s.deadline)
        if order.parts == 1:  # the factory takes the order's hashlock: no leaf, no proof
            fill: tuple[Any, ...] = (plan.amount, plan.dst_amount, 0, bytes(32), [])
        else:
            fill = (plan.amount, plan.dst_amount, plan.secret_index, plan.secret_hash,
                    list(plan.proof))
        data = self._encode(self._factory_abi, "createSrcEscrow", struct, signed.signature,
                            fill)
        mined = await self._tx.send(self._factory, data, value=order.src_safety_deposit,
                                    what="createSrcEscrow")
        return await self._handle(mined, EscrowRole.SRC)

    async def create_dst(self, terms: DstTerms) -> EscrowHandle:
        token = self._asset(terms.token)
        maker = _address(terms.maker, "maker")
        immutables = (terms.order_hash, terms.hashlock, int(maker, 16), int(self.address, 16),
                      int(token, 16), terms.amount, terms.safety_deposit,
                      terms.timelocks.pack())
        data = self._encode(self._factory_abi, "createDstEscrow", immutables,
                            terms.src_cancellation)
        if token == NATIVE:
            mined = await self._tx.send(self._factory, data,
                                        value=terms.safety_deposit + terms.amount,
                                        what="createDstEscrow")
            return await self._handle(mined, EscrowRole.DST)
        # One at a time from the allowance check to the escrow: a concurrent approve
        # would overwrite the allowance this escrow is about to use.
        approval: Sent | None = None
        async with self._allowance_lock:
            allowance = await self._tx.call(
                token, self._encode(self._token_abi, "allowance", self.address, self._factory))
            if int.from_bytes(allowance[:32], "big") < terms.amount:
                approval = await self.approve(token, terms.amount)
            try:
                mined = await self._tx.send(self._factory, data, value=terms.safety_deposit,
                                            what="createDstEscrow")
            except WalletError as exc:
                if approval is not None:  # the approval was paid for all the same
                    _add_paid(exc, approval)
                raise
        approve_fee = 0 if approval is None else approval.fee
        handle = await self._handle(mined, EscrowRole.DST)
        # The handle's fee is what creating the escrow cost, the approval included.
        return replace(handle, created=replace(handle.created,
                                               fee=handle.created.fee + approve_fee))

    async def withdraw(self, escrow: EscrowHandle, secret: bytes, *,
                       public: bool = False) -> Sent:
        if len(secret) != 32:
            raise _invalid(f"a secret is 32 bytes, not {len(secret)}")
        fn = "publicWithdraw" if public else "withdraw"
        data = self._encode(self._escrow_abi(escrow), fn, secret,
                            _immutables_args(escrow.immutables))
        return (await self._tx.send(escrow.escrow, data, what=f"{escrow.role} {fn}")).sent

    async def cancel(self, escrow: EscrowHandle, *, public: bool = False) -> Sent:
        if public and escrow.role is EscrowRole.DST:
            raise WalletError("an Ethereum destination escrow has no public cancel: only its "
                              "taker cancels it", code=errors.NOT_ALLOWED,
                              details={"escrow": escrow.escrow})
        fn = "publicCancel" if public else "cancel"
        data = self._encode(self._escrow_abi(escrow), fn, _immutables_args(escrow.immutables))
        return (await self._tx.send(escrow.escrow, data, what=f"{escrow.role} {fn}")).sent

    async def close(self) -> None:
        await self._tx.close()

    # ------------------------------------------------------------------ maker / devnet

    async def approve(self, token: str, amount: int, spender: str | None = None) -> Sent:
        """Let ``spender`` (default: the factory) take ``amount`` of ``token``."""
        target = _address(spender, "spender") if spender else self._factory
        data = self._encode(self._token_abi, "approve", target, amount)
        return (await self._tx.send(self._asset(token), data, what="approve")).sent

    async def mint(self, token: str, to: str, amount: int) -> Sent:
        """Mint the devnet's TestToken (only its deployer may)."""
        data = self._encode(self._token_abi, "mint", _address(to, "to"), amount)
        return (await self._tx.send(self._asset(token), data, what="mint")).sent

    async def send_native(self, to: str, wei: int) -> Sent:
        target = _address(to, "to")
        return (await self._tx.send(target, b"", value=wei, what="transfer")).sent

    # ------------------------------------------------------------------ internals

    def _asset(self, text: str) -> str:
        try:
            if _ADDRESS.match(text):
                return checksum_address(text, field="asset")
            return self._chains.get(self._chain, field="chain").asset(text, field="asset").id
        except ValidationError as exc:
            raise _invalid(exc.message) from exc

    def _escrow_abi(self, escrow: EscrowHandle) -> type[AsyncContract]:
        if escrow.chain != self._chain:
            raise _invalid(f"escrow {escrow.escrow} is on {escrow.chain}, not {self._chain}")
        return self._src_abi if escrow.role is EscrowRole.SRC else self._dst_abi

    @staticmethod
    def _encode(contract: type[AsyncContract], fn: str, *args: Any) -> bytes:
        return bytes.fromhex(contract.encode_abi(fn, list(args))[2:])

    async def _handle(self, mined: Mined, role: EscrowRole) -> EscrowHandle:
        """The escrow ``mined`` created, as the monitor derives it from the same logs."""
        deriver = await self._ready()
        # Logs carry the block's header time or not, depending on the node: take the header.
        logs = [{k: v for k, v in raw.items() if k != "blockTimestamp"}
                for raw in mined.receipt["logs"]]
        tx_id = mined.sent.tx_id
        tx = Transaction(hash=tx_id, to=self._factory.lower(), input=mined.data)
        derived = deriver.derive(logs, {mined.block.number: mined.block}, lambda _: False,
                                 {tx_id: tx})
        created = [e for e in derived.events
                   if isinstance(e, EscrowCreated) and e.role is role and e.point.tx_id == tx_id]
        if len(created) != 1:
            raise WalletError(f"transaction {tx_id} created {len(created)} {role} escrows",
                              code=errors.TX_REJECTED, details={"tx_id": tx_id})
        event = created[0]
        return EscrowHandle(chain=self._chain, role=role, escrow=event.escrow,
                            immutables=event.immutables, complement=event.complement,
                            created=mined.sent)

    async def _ready(self) -> EventDeriver:
        """Check the node serves our chain and learn the escrow implementations, once."""
        if self._deriver is None:
            served = int(await self._tx.rpc("eth_chainId"), 16)
            if served != self._tx.chain_id:
                raise ConfigError(f"the RPC serves chain id {served}, "
                                  f"the wallet is for {self._tx.chain_id}")
            src = await self._tx.call(self._factory, self._events.src_implementation)
            dst = await self._tx.call(self._factory, self._events.dst_implementation)
            addresses = EscrowAddresses(bytes.fromhex(self._factory[2:]), src[12:32],
                                        dst[12:32])
            self._deriver = EventDeriver(chain=self._chain, abi=self._events,
                                         factory=self._factory, addresses=addresses)
        return self._deriver


def _address(text: str, field: str) -> str:
    try:
        return checksum_address(text, field=field)
    except ValidationError as exc:
        raise _invalid(exc.message) from exc


def _add_paid(exc: WalletError, sent: Sent) -> None:
    """Count ``sent``'s fee in what the failed action ``exc`` paid (its details' fee)."""
    details = exc.details
    details["fee"] = int(details.get("fee", 0)) + sent.fee
    details.setdefault("tx_id", sent.tx_id)
    details.setdefault("block_time", sent.block_time)


def _invalid(message: str) -> WalletError:
    return WalletError(message, code=errors.INVALID_TERMS)


def _immutables_args(i: EscrowImmutables) -> tuple[Any, ...]:
    return (bytes.fromhex(i.order_hash[2:]), bytes.fromhex(i.hashlock[2:]), int(i.maker, 16),
            int(i.taker, 16), int(i.token, 16), i.amount, i.safety_deposit, i.timelocks)


def _load_abi(artifacts: Path, name: str) -> Sequence[dict[str, Any]]:
    path = artifacts / f"{name}.json"
    try:
        abi: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["abi"]
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"cannot read the compiled ABI {path}: {exc}") from exc
    return abi

