"""``CardanoWallet``: one payment key's hands on Cardano, for a resolver and a demo maker.

It builds the transactions the validators of ``contracts/cardano/`` accept
(docs/cardano-contracts.md): a Fill of a maker's order into a source escrow, a
destination escrow, their withdrawals and cancels with the tagged payment each demands,
and for makers the order lock and its Reclaim. Every action is one transaction, sent
and followed until a block includes it (``resolver.cardano_session``); a
wallet's actions run one at a time, since each spends the wallet's own outputs.

A Fill spends only the maker's lineage: the registered lock, or its continuation in the
transaction of an authentic fill (``FillPlan.lineage``), never a copy of the datum
someone paid to the script (``resolver.cardano_lineage``). A transaction whose
fate the wallet did not learn (``TX_NOT_INCLUDED``) is kept under its action, and the
next try of that action looks for it before building another (docs/resolver.md, "Lost
answers and resubmission").

Validity bounds start at the tip: a Fill's lower bound is the escrow's creation time
(its stages count from it, and the auction curve is priced there, the highest price of
the interval), a destination escrow's ``deployedAt`` is its lower bound in whole
seconds, exactly what the monitor derives (``relayer.chains.cardano.decode``). An action
whose window has not opened at the tip raises ``WalletError(WINDOW_NOT_OPEN)`` without
submitting anything: the caller retries later.

Scripts: the validators are attached to each spending transaction unless the wallet is
given reference outputs (``references=``, or ``deploy_reference_scripts()`` once).
Measured on the simulator (16,384-byte transaction limit): attached, a Fill with the
order validator (7,550 bytes) is 8.2-8.6 KB and costs about 0.63-0.68 ADA, an escrow
spend 4.5 KB and 0.40 ADA; with reference scripts 0.7 KB / 0.41 ADA and 0.5 KB / 0.29
ADA. Both fit; attaching is the default because it needs nothing on chain beforehand (a
fresh devnet has no reference outputs, and a restarted one loses them), and a resolver
that wants the saving deploys them once and passes the refs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TypeVar

import structlog
from pycardano import (
    Address,
    Network,
    OgmiosV6ChainContext,
    PaymentSigningKey,
    PaymentVerificationKey,
    Transaction,
    TransactionOutput,
    UTxO,
    Value,
)

from relayer.chains.cardano.datums import to_plutus_data
from relayer.chains.cardano.decode import asset_text, output_amount, pack_timelocks
from relayer.chains.cardano.escrow_datum import (
    Cancel,
    DstEscrowDatum,
    EscrowDatum,
    PublicCancel,
    PublicWithdraw,
    SrcEscrowDatum,
    Withdraw,
    decode_escrow_datum,
)
from relayer.chains.cardano.funds import expected_datum
from relayer.chains.cardano.order_datum import Fill, OrderDatum, Reclaim
from relayer.chains.cardano.plutus_data import LOVELACE, AssetClass, DatumError, PlutusAddress
from relayer.chains.cardano.scripts import CompiledValidator, Validators
from relayer.chains.events import DstComplement, EscrowImmutables, EscrowRole
from relayer.errors import ValidationError
from relayer.networks.registry import ChainRegistry
from relayer.orders.model import SignedOrder, UtxoRef
from relayer.orders.timelocks import Stage
from resolver.cardano_lineage import order_output
from resolver.cardano_session import Now, OgmiosAccess, Sender, Work
from resolver.cardano_tx import (
    ScriptRefs,
    ScriptSpend,
    Signer,
    build,
    datum_bytes,
    existing,
    find_utxo,
    parse_ref,
    tag_of,
    value_of,
    with_min_ada,
    without,
)
from resolver.chains import DstTerms, EscrowHandle, FillPlan, Sent
from resolver.errors import (
    INVALID_TERMS,
    NOT_ALLOWED,
    NOT_FOUND,
    WINDOW_CLOSED,
    WINDOW_NOT_OPEN,
    WalletError,
)

log = structlog.get_logger(__name__)

CHAIN = "cardano"
MAX_FILL_VALIDITY_MS = 300_000
"""The order validator's longest Fill validity interval."""
REFERENCE_LOVELACE = 60_000_000

_Window = Callable[[EscrowDatum], tuple[int, int | None]]
"""An escrow action's window: opens at, closes at (POSIX ms; None: never)."""


class CardanoWallet:
    """``ChainWallet`` for Cardano (``resolver.chains``)."""

    def __init__(self, *, ogmios_url: str, signing_key: PaymentSigningKey,
                 validators: Validators, chains: ChainRegistry,
                 network: Network = Network.TESTNET, references: ScriptRefs | None = None,
                 validity_seconds: int = 120, inclusion_timeout: float = 120.0) -> None:
        self._access = OgmiosAccess(ogmios_url, network)
        vkey = PaymentVerificationKey.from_signing_key(signing_key)
        self._signer = Signer(signing_key, Address(vkey.hash(), network=network))
        self._validators = validators
        self._chains = chains
        self._network = network
        self._references = references
        self._validity_seconds = validity_seconds
        self._sender = Sender(self._access, timeout=inclusion_timeout)

    # -- facts ----------------------------------------------------------------------------

    @property
    def chain(self) -> str:
        return CHAIN

    @property
    def address(self) -> str:
        return str(self._signer.address)

    @property
    def references(self) -> ScriptRefs | None:
        return self._references

    async def chain_time(self) -> int:
        async with self._access.connection() as connection:
            now, _ = await self._access.now(connection)
        return now.ms // 1000

    async def balance(self, asset: str, address: str | None = None) -> int:
        wanted = self._asset(asset)
        utxos = await self._access.utxos(addresses=[address or self.address])
        return sum(output_amount(u["value"], wanted) for u in utxos)

    async def close(self) -> None:
        """Nothing to release: every action opens and closes its own connections."""

    # -- resolver actions -------------------------------------------------------------------

    async def fill(self, plan: FillPlan) -> EscrowHandle:
        signed = plan.order
        me = self._plutus(self._signer.address)
        escrow_address = self._validators.escrow.address(self._network)
        try:
            maker_lock = expected_datum(signed, self._chains)
        except (ValidationError, DatumError) as exc:
            raise WalletError(f"order {signed.order_hash} has no Cardano order datum: "
                              f"{exc}", code=INVALID_TERMS) from exc

        def work(context: OgmiosV6ChainContext, now: Now) -> Transaction:
            utxo, datum = order_output(context, signed, maker_lock,
                                       self._validators.order.address(self._network),
                                       plan.lineage)
            lower = now.slot
            upper = min(lower + self._validity_seconds,
                        now.last_slot_by(now.ms + MAX_FILL_VALIDITY_MS),
                        now.last_slot_by(datum.deadline * 1000))
            if upper <= lower:
                raise WalletError("the order's deadline has passed", code=WINDOW_CLOSED,
                                  details={"order_hash": signed.order_hash})
            escrow = datum.src_escrow(taker=me, amount=plan.amount, hashlock=plan.secret_hash,
                                      dst_amount=plan.dst_amount, deployed_at_ms=now.ms)
            outputs = [with_min_ada(context, TransactionOutput(
                escrow_address, value_of(datum.maker_asset, plan.amount, escrow.safety_deposit),
                datum=to_plutus_data(escrow)))]
            rest = without(utxo.output.amount, datum.maker_asset, plan.amount)
            if datum.filled + plan.amount < datum.making_amount:
                following = dataclasses.replace(datum, filled=datum.filled + plan.amount)
                outputs.append(with_min_ada(context, TransactionOutput(
                    utxo.output.address, rest, datum=to_plutus_data(following))))
            elif rest.coin > 0 or rest.multi_asset:
                outputs.append(with_min_ada(context, TransactionOutput(
                    datum.maker.to_address(self._network), rest,
                    datum=to_plutus_data(tag_of(utxo)))))
            redeemer = Fill(escrow_output=0, order_output=1, secret_index=plan.secret_index,
                            proof=plan.proof)
            return build(context, self._signer, outputs,
                         spend=self._spend(context, utxo, self._validators.order, redeemer),
                         lower=lower, upper=upper, sign_required=True,
                         exclude=self._reference_utxos(context))

        key = f"fill {signed.order_hash} {plan.secret_index} {plan.amount}"
        tx, sent, now = await self._send(work, key=key)
        escrow = _escrow_made(tx, SrcEscrowDatum)
        times = {Stage.SRC_WITHDRAWAL: escrow.withdrawal,
                 Stage.SRC_PUBLIC_WITHDRAWAL: escrow.public_withdrawal,
                 Stage.SRC_CANCELLATION: escrow.cancellation,
                 Stage.SRC_PUBLIC_CANCELLATION: escrow.public_cancellation}
        return EscrowHandle(chain=CHAIN, role=EscrowRole.SRC, escrow=f"{sent.tx_id}#0",
                            immutables=self._immutables(escrow, times, now.ms // 1000),
                            complement=self._complement(signed, plan.dst_amount),
                            created=sent)

    async def create_dst(self, terms: DstTerms) -> EscrowHandle:
        asset = self._asset(terms.token)
        try:
            maker = self._plutus(Address.from_primitive(terms.maker))
        except Exception as exc:  # pycardano raises several kinds for a bad address
            raise WalletError(f"not a Cardano address: {terms.maker!r}", code=INVALID_TERMS,
                              details={"maker": terms.maker}) from exc
        offsets = terms.timelocks.offsets()

        def work(context: OgmiosV6ChainContext, now: Now) -> Transaction:
            # deployedAt is the lower bound in whole seconds: the monitor derives it so.
            base = now.ms // 1000 * 1000
            try:
                datum = DstEscrowDatum(
                    order_hash=terms.order_hash, hashlock=terms.hashlock, maker=maker,
                    taker=self._plutus(self._signer.address), asset=asset,
                    amount=terms.amount, safety_deposit=terms.safety_deposit,
                    withdrawal=base + offsets[Stage.DST_WITHDRAWAL] * 1000,
                    public_withdrawal=base + offsets[Stage.DST_PUBLIC_WITHDRAWAL] * 1000,
                    cancellation=base + offsets[Stage.DST_CANCELLATION] * 1000)
            except DatumError as exc:
                raise WalletError(str(exc), code=INVALID_TERMS) from exc
            output = with_min_ada(context, TransactionOutput(
                self._validators.escrow.address(self._network),
                value_of(asset, terms.amount, terms.safety_deposit),
                datum=to_plutus_data(datum)))
            return build(context, self._signer, [output], lower=now.slot,
                         upper=now.slot + self._validity_seconds,
                         exclude=self._reference_utxos(context))

        key = f"dst {terms.order_hash.hex()} {terms.hashlock.hex()} {terms.amount}"
        tx, sent, now = await self._send(work, key=key)
        escrow = _escrow_made(tx, DstEscrowDatum)
        times = {Stage.DST_WITHDRAWAL: escrow.withdrawal,
                 Stage.DST_PUBLIC_WITHDRAWAL: escrow.public_withdrawal,
                 Stage.DST_CANCELLATION: escrow.cancellation}
        return EscrowHandle(chain=CHAIN, role=EscrowRole.DST, escrow=f"{sent.tx_id}#0",
                            immutables=self._immutables(escrow, times, now.ms // 1000),
                            complement=None, created=sent)

    async def withdraw(self, escrow: EscrowHandle, secret: bytes, *,
                       public: bool = False) -> Sent:
        try:
            redeemer = PublicWithdraw(secret) if public else Withdraw(secret)
        except DatumError as exc:
            raise WalletError(str(exc), code=INVALID_TERMS) from exc

        def window(datum: EscrowDatum) -> tuple[int, int | None]:
            opens = datum.public_withdrawal if public else datum.withdrawal
            return opens, datum.cancellation

        return await self._spend_escrow(escrow, redeemer, window, pay_taker=True,
                                        sign=not public, key=f"withdraw {escrow.escrow}")

    async def cancel(self, escrow: EscrowHandle, *, public: bool = False) -> Sent:
        def window(datum: EscrowDatum) -> tuple[int, int | None]:
            if not public:
                return datum.cancellation, None
            if not isinstance(datum, SrcEscrowDatum):
                raise WalletError("a destination escrow has no public cancel",
                                  code=NOT_ALLOWED, details={"escrow": escrow.escrow})
            return datum.public_cancellation, None

        redeemer = PublicCancel() if public else Cancel()
        return await self._spend_escrow(escrow, redeemer, window, pay_taker=False,
                                        sign=not public, key=f"cancel {escrow.escrow}")

    # -- maker actions --------------------------------------------------------------------

    async def lock_order(self, signed: SignedOrder, chains: ChainRegistry) -> UtxoRef:
        """Lock ``signed``'s making amount at the order script (the maker's part of a
        Cardano-source order); the output to name in ``src_order_utxo``."""
        return (await self.lock(expected_datum(signed, chains)))[0]

    async def lock(self, datum: OrderDatum) -> tuple[UtxoRef, Sent]:
        """Pay the datum's making amount of its asset to the order script with ``datum``
        inline (``lock_order``'s transaction for any datum: anyone can pay the script);
        the output and the transaction."""

        def work(context: OgmiosV6ChainContext, now: Now) -> Transaction:
            output = with_min_ada(context, TransactionOutput(
                self._validators.order.address(self._network),
                value_of(datum.maker_asset, datum.making_amount, 0),
                datum=to_plutus_data(datum)))
            return build(context, self._signer, [output],
                         exclude=self._reference_utxos(context))

        _, sent, _ = await self._send(work)
        return UtxoRef(tx_id=sent.tx_id, index=0), sent

    async def reclaim(self, utxo: UtxoRef) -> Sent:
        """The maker takes a locked order output back (the Reclaim redeemer)."""

        def work(context: OgmiosV6ChainContext, now: Now) -> Transaction:
            locked = existing(context, utxo, "order output")
            return build(context, self._signer, [],
                         spend=self._spend(context, locked, self._validators.order,
                                           Reclaim()),
                         lower=now.slot, upper=now.slot + self._validity_seconds,
                         sign_required=True, exclude=self._reference_utxos(context))

        return (await self._send(work, key=f"reclaim {utxo.tx_id}#{utxo.index}"))[1]

    async def pay(self, to: str, lovelace: int) -> Sent:
        """Send ``lovelace`` to ``to`` (funding a fresh address)."""

        def work(context: OgmiosV6ChainContext, now: Now) -> Transaction:
            output = TransactionOutput(Address.from_primitive(to), Value(lovelace))
            return build(context, self._signer, [output],
                         exclude=self._reference_utxos(context))

        return (await self._send(work))[1]

    async def deploy_reference_scripts(self) -> ScriptRefs:
        """Put both validators on chain as reference scripts at this wallet's address
        (never spent by it afterwards) and use them from now on."""

        def work(context: OgmiosV6ChainContext, now: Now) -> Transaction:
            outputs = [TransactionOutput(self._signer.address, Value(REFERENCE_LOVELACE),
                                         script=v.script)
                       for v in (self._validators.escrow, self._validators.order)]
            return build(context, self._signer, outputs)

        _, sent, _ = await self._send(work)
        self._references = ScriptRefs(escrow=UtxoRef(sent.tx_id, 0),
                                      order=UtxoRef(sent.tx_id, 1))
        return self._references

    # -- helpers ----------------------------------------------------------------------------

    async def _send(self, work: Work, *, key: str | None = None
                    ) -> tuple[Transaction, Sent, Now]:
        return await self._sender.send(work, key=key)

    async def _spend_escrow(self, handle: EscrowHandle,
                            redeemer: Withdraw | PublicWithdraw | Cancel | PublicCancel,
                            window: _Window, *, pay_taker: bool, sign: bool,
                            key: str) -> Sent:
        ref = parse_ref(handle.escrow)

        def work(context: OgmiosV6ChainContext, now: Now) -> Transaction:
            utxo = existing(context, ref, "escrow")
            try:
                datum = decode_escrow_datum(datum_bytes(utxo))
            except DatumError as exc:
                raise WalletError(f"escrow {handle.escrow} has no readable datum",
                                  code=NOT_FOUND, details={"escrow": handle.escrow}) from exc
            opens, closes = window(datum)
            if now.ms < opens:
                raise WalletError(f"escrow {handle.escrow}: the window opens at "
                                  f"{opens // 1000}", code=WINDOW_NOT_OPEN,
                                  details={"escrow": handle.escrow, "opens": opens // 1000,
                                           "chain_time": now.ms // 1000})
            upper = now.slot + self._validity_seconds
            if closes is not None:
                upper = min(upper, now.last_slot_by(closes))
            if upper <= now.slot:
                raise WalletError(f"escrow {handle.escrow}: the window closed at "
                                  f"{(closes or 0) // 1000}", code=WINDOW_CLOSED,
                                  details={"escrow": handle.escrow})
            # A source escrow's withdrawal pays its taker, a destination escrow's its
            # maker; a cancel refunds the other one.
            to_taker = pay_taker == isinstance(datum, SrcEscrowDatum)
            payee = datum.taker if to_taker else datum.maker
            payment = with_min_ada(context, TransactionOutput(
                payee.to_address(self._network), value_of(datum.asset, datum.amount, 0),
                datum=to_plutus_data(tag_of(utxo))))
            return build(context, self._signer, [payment],
                         spend=self._spend(context, utxo, self._validators.escrow, redeemer),
                         lower=now.slot, upper=upper, sign_required=sign,
                         exclude=self._reference_utxos(context))

        return (await self._send(work, key=key))[1]

    def _spend(self, context: OgmiosV6ChainContext, utxo: UTxO,
               validator: CompiledValidator,
               redeemer: Fill | Reclaim | Withdraw | PublicWithdraw | Cancel | PublicCancel,
               ) -> ScriptSpend:
        if self._references is None:
            return ScriptSpend(utxo, validator.script, redeemer)
        ref = getattr(self._references, validator.name)
        return ScriptSpend(utxo, existing(context, ref, "reference script"), redeemer)

    def _reference_utxos(self, context: OgmiosV6ChainContext) -> list[UTxO]:
        if self._references is None:
            return []
        found = [find_utxo(context, r) for r in (self._references.escrow,
                                                  self._references.order)]
        return [u for u in found if u is not None]

    def _immutables(self, datum: EscrowDatum, times: dict[Stage, int],
                    deployed_at: int) -> EscrowImmutables:
        return EscrowImmutables(
            order_hash="0x" + datum.order_hash.hex(), hashlock="0x" + datum.hashlock.hex(),
            maker=str(datum.maker.to_address(self._network)),
            taker=str(datum.taker.to_address(self._network)),
            token=asset_text(datum.asset), amount=datum.amount,
            safety_deposit=datum.safety_deposit,
            timelocks=pack_timelocks(times, deployed_at))

    def _complement(self, signed: SignedOrder, dst_amount: int) -> DstComplement:
        """What the monitor attaches to a source escrow (``OrderComplements``)."""
        order = signed.order
        chain = self._chains.get(order.dst_chain, field="order.dst_chain")
        return DstComplement(
            maker=chain.parse_address(order.receiver, field="order.receiver").text,
            amount=dst_amount,
            token=chain.asset(order.taker_asset, field="order.taker_asset").id,
            safety_deposit=order.dst_safety_deposit, chain_id=chain.chain_id)

    def _asset(self, text: str) -> AssetClass:
        try:
            raw = self._chains.get(CHAIN, field="chain").asset(text, field="asset").raw
        except ValidationError:
            policy, dot, name = text.partition(".")
            if not dot:
                raise
            return AssetClass(bytes.fromhex(policy), bytes.fromhex(name))
        return AssetClass.from_raw(raw) if raw else LOVELACE

    @staticmethod
    def _plutus(address: Address) -> PlutusAddress:
        return PlutusAddress.from_address(address)


_D = TypeVar("_D", SrcEscrowDatum, DstEscrowDatum)


def _escrow_made(tx: Transaction, kind: type[_D]) -> _D:
    """The escrow datum of ``tx``'s first output (where the wallet puts the escrow)."""
    datum = decode_escrow_datum(datum_bytes(tx.transaction_body.outputs[0]))
    assert isinstance(datum, kind), datum
    return datum


__all__ = ["CardanoWallet", "ScriptRefs"]
