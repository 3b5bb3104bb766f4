"""Execution costs of each path, with ceilings a change of the validators must respect.

`python -m tests.contracts.cardano.test_costs` prints the table of docs/cardano-contracts.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from devnet.cardano.model import TxIn
from relayer.auction.details import AuctionPoint
from relayer.chains.cardano.escrow_datum import (
    Cancel,
    EscrowDatum,
    EscrowRedeemer,
    PublicCancel,
    PublicWithdraw,
    Withdraw,
)
from relayer.chains.cardano.order_datum import Reclaim
from relayer.chains.cardano.scripts import CompiledValidator, Validators, load_validators
from tests.contracts.cardano import escrows
from tests.contracts.cardano.fills import (
    MAKER,
    MAKING,
    ORDER,
    ORDER_REF,
    PARTS,
    START,
    TOKEN_ORDER,
    fill_tx,
    scene,
)
from tests.contracts.cardano.harness import ScriptRunner, Tx, key_hash

Scenario = Callable[[Validators], tuple[CompiledValidator, Tx, TxIn]]


def _escrow(make: Callable[[], EscrowDatum], redeemer: EscrowRedeemer, lower: int,
            upper: int | None, signed: bool = True) -> Scenario:
    def build(v: Validators) -> tuple[CompiledValidator, Tx, TxIn]:
        signers = (escrows.TAKER,) if signed else ()
        tx = escrows.spend(v, make(), redeemer, lower=lower, upper=upper, signers=signers)
        return v.escrow, tx, escrows.ESCROW

    return build


def _fill(build_tx: Callable[[Validators], Tx]) -> Scenario:
    return lambda v: (v.order, build_tx(v), ORDER_REF)


MANY_POINTS = replace(ORDER, auction=replace(
    ORDER.auction, duration=3_000, points=tuple(AuctionPoint(100_000 - i, 10) for i in range(20))
))
W, PW, C, PC = escrows.W, escrows.PW, escrows.C, escrows.PC
# path -> (scenario, CPU ceiling, memory ceiling)
SCENARIOS: dict[str, tuple[Scenario, int, int]] = {
    "escrow Withdraw (source)": (_escrow(escrows.src, Withdraw(escrows.SECRET), W, C),
                                 200_000_000, 750_000),
    "escrow Withdraw (destination)": (_escrow(escrows.dst, Withdraw(escrows.SECRET), W, C),
                                      200_000_000, 750_000),
    "escrow Withdraw (destination, native asset)": (
        _escrow(lambda: escrows.dst(asset=escrows.TOKEN), Withdraw(escrows.SECRET), W, C),
        200_000_000, 750_000),
    "escrow PublicWithdraw (destination)": (
        _escrow(escrows.dst, PublicWithdraw(escrows.SECRET), PW, C, signed=False),
        200_000_000, 750_000),
    "escrow Cancel (source)": (_escrow(escrows.src, Cancel(), C, None), 200_000_000, 750_000),
    "escrow PublicCancel (source)": (_escrow(escrows.src, PublicCancel(), PC, None, False),
                                     200_000_000, 750_000),
    "order Reclaim": (_fill(lambda v: fill_tx(v, scene()).but(
        redeemers={ORDER_REF: Reclaim()}, outputs=[], signers=[key_hash(MAKER)])),
        150_000_000, 500_000),
    "order Fill (whole order, one auction point)": (_fill(lambda v: fill_tx(v, scene())),
                                                    450_000_000, 1_700_000),
    "order Fill (partial, continuing output, 3-node proof)": (
        _fill(lambda v: fill_tx(v, scene(PARTS, amount=MAKING // 4))), 550_000_000, 2_100_000),
    "order Fill (completing a native-asset order, leftover returned)": (
        _fill(lambda v: fill_tx(v, scene(TOKEN_ORDER))), 500_000_000, 1_900_000),
    "order Fill (20 auction points, after the last)": (
        _fill(lambda v: fill_tx(v, scene(MANY_POINTS, lower=(START + 250) * 1000))),
        650_000_000, 2_600_000),
}


@pytest.mark.parametrize("path", SCENARIOS)
def test_costs_stay_under_their_ceilings(validators: Validators, runner: ScriptRunner,
                                         path: str) -> None:
    scenario, cpu, memory = SCENARIOS[path]
    result = runner.run(*scenario(validators))
    assert result.cpu <= cpu and result.memory <= memory, (result.cpu, result.memory)


if __name__ == "__main__":
    validators, runner = load_validators(), ScriptRunner()
    print("| path | CPU | memory |\n|---|---|---|")
    for path, (scenario, _, _) in SCENARIOS.items():
        result = runner.run(*scenario(validators))
        print(f"| {path} | {result.cpu:,} | {result.memory:,} |")
