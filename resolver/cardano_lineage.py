"""Which output of a Cardano order a fill spends: the maker's lineage only.

Anyone can pay the order script a copy of an order's datum, and the validator lets it
be filled like the maker's lock (docs/cardano-monitor.md, "Lock lineage"); the relayer
calls such fills foreign and never releases their secret. So the wallet fills the lock
the maker registered, or its continuation in the transaction of an authentic fill.
"""

from __future__ import annotations

import dataclasses

from pycardano import Address, AssetName, OgmiosV6ChainContext, ScriptHash, UTxO, Value

from relayer.chains.cardano.order_datum import OrderDatum, decode_order_datum
from relayer.chains.cardano.plutus_data import AssetClass, DatumError
from relayer.orders.model import SignedOrder
from resolver.cardano_tx import datum_bytes, find_utxo
from resolver.chains import LineageFill
from resolver.errors import NOT_FOUND, WalletError


def order_output(context: OgmiosV6ChainContext, signed: SignedOrder, maker_lock: OrderDatum,
                 order_address: Address, lineage: tuple[LineageFill, ...]
                 ) -> tuple[UTxO, OrderDatum]:
    """The output of the maker's lock to fill: the lock the maker registered
    (``src_order_utxo``) while it is unspent, else its continuation after the partial
    fills so far.

    Anyone can pay the order script a copy of the order's datum, with any ``filled``;
    the relayer counts fills of such a copy as foreign and never releases their secret.
    So a continuation is taken only from the transaction of an authentic fill
    (``lineage``, the relayer's fills that are not foreign), with the maker's datum
    but for ``filled``, which must be what every authentic fill took together: each
    authentic fill spent the previous continuation, so exactly one output can say so.
    None, or two alike: nothing is filled."""
    if signed.src_order_utxo is None:
        raise WalletError(f"order {signed.order_hash} names no order lock",
                          code=NOT_FOUND, details={"order_hash": signed.order_hash})
    first = find_utxo(context, signed.src_order_utxo)
    if first is not None:
        return first, decode_order_datum(datum_bytes(first))
    candidates: list[tuple[UTxO, OrderDatum]] = []
    txs = {fill.tx_id.lower().removeprefix("0x") for fill in lineage}
    for utxo in context.utxos(order_address) if txs else ():
        if str(utxo.input.transaction_id) not in txs:
            continue
        try:
            candidates.append((utxo, decode_order_datum(datum_bytes(utxo))))
        except DatumError:
            continue
    filled = maker_lock.filled + sum(fill.amount for fill in lineage)
    found = continuations(candidates, maker_lock, filled)
    if len(found) != 1:
        why = "none continues" if not found else f"{len(found)} claim to continue"
        raise WalletError(
            f"order {signed.order_hash}: the maker's lock is spent and {why} it after "
            f"{len(lineage)} authentic fills (filled {filled}); not filling",
            code=NOT_FOUND, details={"order_hash": signed.order_hash, "filled": filled,
                                     "candidates": [str(u.input) for u, _ in found]})
    return found[0]


def continuations(candidates: list[tuple[UTxO, OrderDatum]], maker_lock: OrderDatum,
                  filled: int) -> list[tuple[UTxO, OrderDatum]]:
    """The ``candidates`` that continue ``maker_lock`` with ``filled`` taken: the
    maker's datum but for ``filled``, and holding what is left to fill."""
    found = []
    for utxo, datum in candidates:
        if dataclasses.replace(datum, filled=maker_lock.filled) != maker_lock:
            continue
        if datum.filled != filled or not 0 < filled < datum.making_amount:
            continue
        if holding(utxo.output.amount, datum.maker_asset) < datum.remaining:
            continue
        found.append((utxo, datum))
    return found


def holding(value: Value, asset: AssetClass) -> int:
    """How much of ``asset`` ``value`` holds."""
    if asset.is_lovelace:
        return int(value.coin)
    policy = ScriptHash(asset.policy_id)
    return int(value.multi_asset.get(policy, {}).get(AssetName(asset.name), 0))
