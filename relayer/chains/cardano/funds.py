"""The intake check of a Cardano-source order: its funds are really locked on chain.

A Cardano maker does not approve a contract as an Ethereum maker does: it locks the
making amount at the order script, with the signed order's terms in the inline datum,
and names that output in ``src_order_utxo``. Before the order is stored the relayer
asks the node for the output and refuses the order, with a stable code, unless

- the output exists and is unspent (``ORDER_LOCK_MISSING``);
- its payment credential is the order script (``ORDER_LOCK_WRONG_SCRIPT``);
- its inline datum is an order datum equal to the one the signed order implies, with
  nothing filled yet (``ORDER_LOCK_DATUM_MISMATCH``, ``details.fields`` names the fields
  that differ);
- it holds at least the making amount of the maker asset (``ORDER_LOCK_UNDERFUNDED``).

The check reads the node's current ledger (no confirmation depth): a lock that is later
rolled back cannot be filled either, and the settlement coordinator requires finality
before any secret moves. A node that cannot be reached refuses the order with
``CHAIN_UNAVAILABLE`` (503): nothing is stored without the check.
"""

from __future__ import annotations

from dataclasses import fields

from relayer.chains.cardano.decode import AddressBook, output_amount
from relayer.chains.cardano.node import CardanoNode
from relayer.chains.cardano.order_datum import OrderDatum, decode_order_datum
from relayer.chains.cardano.plutus_data import AssetClass, DatumError, PlutusAddress
from relayer.errors import ValidationError
from relayer.networks.registry import ChainRegistry
from relayer.orders.model import SignedOrder


class OrderLockCheck:
    """``FundsCheck`` for orders whose source chain is Cardano."""

    def __init__(self, node: CardanoNode, *, order_scripts: frozenset[bytes],
                 chains: ChainRegistry, addresses: AddressBook) -> None:
        self._node = node
        self._order_scripts = order_scripts
        self._chains = chains
        self._addresses = addresses

    async def check(self, signed: SignedOrder) -> None:
        ref = signed.src_order_utxo
        if ref is None:
            raise ValidationError("a Cardano-source order needs src_order_utxo",
                                  code="ORDER_LOCK_MISSING",
                                  details={"field": "src_order_utxo"})
        where = {"src_order_utxo": f"{ref.tx_id}#{ref.index}"}
        found = [u for u in await self._node.utxos([(ref.tx_id, ref.index)])
                 if u["transaction"]["id"] == ref.tx_id and u["index"] == ref.index]
        if not found:
            raise ValidationError("the order's locked output does not exist or is spent",
                                  code="ORDER_LOCK_MISSING", details=where)
        output = found[0]
        if self._addresses.payment_script(output["address"]) not in self._order_scripts:
            raise ValidationError("the order's locked output is not at the order script",
                                  code="ORDER_LOCK_WRONG_SCRIPT",
                                  details={**where, "address": output["address"]})
        expected = expected_datum(signed, self._chains)
        try:
            datum = decode_order_datum(bytes.fromhex(output.get("datum") or ""))
        except (DatumError, ValueError) as exc:
            raise ValidationError("the order's locked output has no readable order datum",
                                  code="ORDER_LOCK_DATUM_MISMATCH",
                                  details={**where, "fields": ["datum"]}) from exc
        differ = [f.name for f in fields(OrderDatum)
                  if getattr(datum, f.name) != getattr(expected, f.name)]
        if differ:
            raise ValidationError("the order's locked datum does not match the signed order",
                                  code="ORDER_LOCK_DATUM_MISMATCH",
                                  details={**where, "fields": differ})
        locked = output_amount(output["value"], expected.maker_asset)
        if locked < signed.order.making_amount:
            raise ValidationError("the order's locked output holds less than the making amount",
                                  code="ORDER_LOCK_UNDERFUNDED",
                                  details={**where, "locked": str(locked),
                                           "required": str(signed.order.making_amount)})


def expected_datum(signed: SignedOrder, chains: ChainRegistry) -> OrderDatum:
    """The order datum a maker's lock must carry for ``signed`` (nothing filled yet)."""
    order = signed.order
    chain = chains.get(order.src_chain, field="order.src_chain")
    maker = chain.parse_address(order.maker, field="order.maker")
    asset = chain.asset(order.maker_asset, field="order.maker_asset")
    return OrderDatum(
        order_hash=bytes.fromhex(signed.order_hash[2:]),
        maker=PlutusAddress.from_bytes(maker.raw),
        maker_asset=AssetClass.from_raw(asset.raw),
        making_amount=order.making_amount,
        taking_amount=order.taking_amount,
        auction=order.auction,
        hashlock=order.hashlock,
        parts=order.parts,
        timelocks=order.timelocks,
        src_safety_deposit=order.src_safety_deposit,
        dst_safety_deposit=order.dst_safety_deposit,
        deadline=order.deadline,
        filled=0,
    )
