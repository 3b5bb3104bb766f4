"""The devnet scenarios where a thief tries the attacks ARCHITECTURE section 5 closes.

``forged-lock`` (authenticity: a copy of a Cardano order's lock is not the maker's
funds) and ``shared-hashlock`` (coverage, rule 6: a secret opens every escrow locked
with its hash, so each needs its own payment). The thief is a registered resolver's
keys driven step by step (``devnet.attacker``), never the reference resolver;
it takes the maker's funds the moment a secret goes out, so a relayer that lets one
through fails the balance checks with the maker's whole loss in the report.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

from devnet.scenario_kit import (
    ADA,
    FOREIGN,
    REFUND_TIMEOUT,
    REFUNDED,
    SHORT_TIMELOCKS,
    SWAP_TIMEOUT,
    Balances,
    Scene,
    all_in,
    fresh_cardano_address,
)
from resolver.chains import ChainWallet
from resolver.client import FillState, RelayerRefused
from resolver.ethereum import NATIVE

FORGED_LOVELACE = 5 * ADA
"""What the forged-lock attacker pays to the order script under the copied datum."""
EARLY = {"src_escrow_seen", "verified"}
NOT_FINAL = {"SRC_NOT_FINAL", "DST_NOT_FINAL", "DST_FINALITY_LOCK"}
FOREIGN_LOCK = "SRC_FOREIGN_LOCK"
COVERAGE = {"SHARED_HASHLOCK_UNCOVERED"}
"""Rule 6: another source escrow shares the secret hash without its own payment."""
DST_WAITING = {"DST_ESCROW_MISSING", "DST_AMOUNT_TOO_LOW"} | COVERAGE
"""What holds back a fill whose only destination escrow was made for another fill."""


async def forged_lock(scene: Scene) -> None:
    """The Cardano theft attempt: a maker locks 200 ADA for TUSD (secrets in custody); an
    attacker pays 5 ADA of its own to the order script under a copy of the order's datum
    saying the order is for 5 ADA, fills that copy and the maker's lock (whole, on the
    curve), and funds a destination escrow for the copy only. The copy's fill is shown
    as foreign, the maker's fill waits for a destination escrow of its own, the secret
    never goes out, and once the windows open the attacker's cancels give the maker its
    200 ADA back."""
    thief = scene.attacker("beta")
    spec = await scene.spec("ada-to-eth", custody=True, timelocks=SHORT_TIMELOCKS)
    balances = Balances(scene, {
        "maker": [(scene.ada_maker, "lovelace", scene.ada_maker.address)],
        "receiver": [(scene.eth_maker, scene.token, spec.receiver)],
        "attacker": [(thief.cardano, "lovelace", thief.cardano.address),
                     (thief.ethereum, NATIVE, thief.ethereum.address),
                     (thief.ethereum, scene.token, thief.ethereum.address)]})
    await balances.snapshot()
    order, _ = await asyncio.gather(scene.submit(spec), thief.approve(scene.token))
    await balances.snapshot("maker")  # its 200 ADA left at the lock, before the order
    forged_lock = await thief.forge_lock(order.signed, FORGED_LOVELACE)
    forged = await thief.fill(order.signed, lock=forged_lock, amount=FORGED_LOVELACE)
    # The destination escrow must land before its source escrow's cancellation: at once.
    dst, real = await asyncio.gather(thief.fund_dst(order.signed, forged),
                                     thief.fill(order.signed))
    ids = {"forged": f"cardano:{forged.escrow}", "real": f"cardano:{real.escrow}"}
    scene.swap_report(order).timings["trap_set"] = round(time.monotonic() - scene.started, 2)
    play = asyncio.ensure_future(thief.play_out([order.order_hash], [forged, real], [dst]))
    scene.spawn(play)
    await scene.until_fills(order, "the attacker to play out", lambda _: play.done(),
                            timeout=REFUND_TIMEOUT)
    outcome = play.result()
    report = scene.swap_report(order)
    seen = report.reasons_by_fill
    scene.check("the forged fill is shown as foreign",
                FOREIGN_LOCK in seen.get(ids["forged"], ()),
                reasons=seen.get(ids["forged"], []))
    scene.check("the maker's fill waits for a destination escrow of its own",
                bool(set(seen.get(ids["real"], ())) & DST_WAITING),
                reasons=seen.get(ids["real"], []))
    scene.check("no secret released", outcome.secret is None
                and not await scene.watcher.secrets(order.order_hash))
    scene.check("the maker's escrow never withdrawn",
                real.escrow not in outcome.withdrawn and real.escrow in outcome.cancelled,
                withdrawn=outcome.withdrawn, cancelled=outcome.cancelled)
    if not outcome.withdrawn:  # else a theft: the balances below show it
        fills = await scene.until_fills(
            order, "the maker's fill refunded",
            lambda fs: any(f.fill_id == ids["real"] and f.status == REFUNDED for f in fs),
            timeout=REFUND_TIMEOUT)
        statuses = {f.fill_id: f.status for f in fills}
        scene.check("the maker's fill refunded, the forged one still foreign",
                    statuses.get(ids["real"]) == REFUNDED
                    and statuses.get(ids["forged"]) == FOREIGN, fills=statuses)
        status = await scene.final_status(order, REFUNDED)
        scene.check("order refunded (the forged fill never counted)", status == REFUNDED,
                    status=status)
    moved = await balances.moved()
    report.moved = moved
    # Cancelling the forged escrow pays its 5 ADA to the order's maker, as its datum says.
    scene.check("maker refunded in full (and the forged 5 ADA on top)",
                moved["maker"] == {"cardano:lovelace": spec.making_amount + FORGED_LOVELACE},
                moved=moved["maker"], making=spec.making_amount, forged=FORGED_LOVELACE)
    scene.check("receiver got nothing", moved["receiver"] == {f"ethereum:{scene.token}": 0},
                moved=moved["receiver"])
    expected = {"cardano:lovelace": -FORGED_LOVELACE - thief.fees["cardano"],
                f"ethereum:{NATIVE}": -thief.fees["ethereum"], f"ethereum:{scene.token}": 0}
    scene.check("attacker: out its 5 ADA and its fees, nothing gained",
                moved["attacker"] == expected, moved=moved["attacker"], expected=expected)


async def shared_hashlock(scene: Scene) -> None:
    """Two source escrows share a secret hash, one paid: the maker signs two 100 TUSD
    orders with the same secret (a careless wallet), once posting its secret itself and
    once with the secrets in custody. The attacker fills both orders of each pair and
    funds a destination escrow for the first only. The first fill is withheld for want
    of coverage (the maker's post is refused with FILL_NOT_READY), no secret goes out,
    and after the cancellation both source escrows are cancelled and the maker is
    whole."""
    thief = scene.attacker("beta")
    parties: dict[str, list[tuple[ChainWallet, str, str]]] = {
        "maker": [(scene.eth_maker, scene.token, scene.eth_maker.address)],
        "attacker": [(thief.cardano, "lovelace", thief.cardano.address),
                     (thief.ethereum, NATIVE, thief.ethereum.address),
                     (thief.ethereum, scene.token, thief.ethereum.address)]}
    balances = Balances(scene, parties)
    await balances.snapshot()
    setting_up = asyncio.Lock()

    async def pair(custody: bool) -> None:
        mode = "custody" if custody else "maker"
        spec = await scene.spec("eth-to-ada", timelocks=SHORT_TIMELOCKS, custody=custody)
        first = await scene.submit(spec)
        second = await scene.submit(replace(spec, receiver=fresh_cardano_address()),
                                    secrets=first.secrets)
        if not custody:
            scene.spawn(scene.maker.keep_revealing([first, second]))
        # One trap at a time: a destination escrow must follow its source escrow within
        # seconds, and the two pairs share the attacker's wallets.
        async with setting_up:
            src1 = await thief.fill(first.signed)
            dst1, src2 = await asyncio.gather(thief.fund_dst(first.signed, src1),
                                              thief.fill(second.signed))
        play = asyncio.ensure_future(thief.play_out(
            [first.order_hash, second.order_hash], [src1, src2], [dst1]))
        scene.spawn(play)
        first_fill = f"ethereum:{src1.escrow}"

        def past_finality(fills: list[FillState]) -> bool:
            return any(f.fill_id == first_fill and f.status not in EARLY
                       and not set(f.reasons) & NOT_FINAL for f in fills)

        fills = await scene.until_fills(first, f"{mode}: the first fill final",
                                        past_finality, timeout=SWAP_TIMEOUT)
        now = [(f.status, list(f.reasons)) for f in fills if f.fill_id == first_fill]
        if not custody:
            refused = ""
            try:
                await scene.client.post_secret(first.order_hash, 0, first.secrets.secrets[0])
            except RelayerRefused as exc:
                refused = f"{exc.details.get('status')} {exc.code}"
            scene.check(f"{mode}: the maker's secret refused (409 FILL_NOT_READY)",
                        refused == "409 FILL_NOT_READY", answer=refused or "accepted",
                        fill=now)
        await scene.until_fills(first, f"{mode}: the attacker to play out",
                                lambda _: play.done(), timeout=REFUND_TIMEOUT)
        outcome = play.result()
        seen = scene.swap_report(first).reasons_by_fill.get(first_fill, [])
        scene.check(f"{mode}: the first fill withheld for coverage",
                    any(r in COVERAGE for r in seen), reasons=seen)
        scene.check(f"{mode}: no source escrow withdrawn", not outcome.withdrawn,
                    withdrawn=outcome.withdrawn)
        if outcome.withdrawn:
            return  # a theft: the balances show it
        statuses = []
        for order in (first, second):
            await scene.until_fills(order, f"{mode}: refunded", all_in({REFUNDED}),
                                    timeout=REFUND_TIMEOUT)
            statuses.append(await scene.final_status(order, REFUNDED))
        scene.check(f"{mode}: both orders refunded", statuses == [REFUNDED] * 2,
                    statuses=statuses)
        scene.check(f"{mode}: both source escrows cancelled",
                    {src1.escrow, src2.escrow} <= set(outcome.cancelled),
                    cancelled=outcome.cancelled)
        secrets = [await scene.watcher.secrets(o.order_hash) for o in (first, second)]
        scene.check(f"{mode}: no secret ever released", outcome.secret is None
                    and not any(secrets))

    await asyncio.gather(pair(custody=False), pair(custody=True))
    moved = await balances.moved()
    fees = thief.fees
    scene.check("maker whole", moved["maker"] == {f"ethereum:{scene.token}": 0},
                moved=moved["maker"])
    expected = {"cardano:lovelace": -fees["cardano"], f"ethereum:{NATIVE}": -fees["ethereum"],
                f"ethereum:{scene.token}": 0}
    scene.check("attacker: out its fees, nothing gained", moved["attacker"] == expected,
                moved=moved["attacker"], expected=expected)
