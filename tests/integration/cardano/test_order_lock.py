"""Cardano-source orders through the real HTTP API with the relayer following the
simulator: the maker's lock is checked at intake (each refusal has its code and stores
nothing), and a reclaim of the lock (the real order validator runs) cancels the order."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from pycardano import Address
from starlette.applications import Starlette

from devnet.cardano import CardanoSimulator, GenesisAccount, GenesisConfig
from relayer.api.app import create_app
from relayer.chains.cardano.events import LockSpend, OrderLocked, OrderLockSpent
from relayer.chains.cardano.funds import expected_datum
from relayer.chains.cardano.order_datum import Reclaim
from relayer.chains.cardano.plutus_data import PlutusAddress
from relayer.clock import FakeClock
from relayer.networks.registry import ChainRegistry
from relayer.orders.model import SignedOrder
from relayer.orders.wire import OrderSubmissionWire, UtxoRefWire
from tests.factories import (
    CARDANO_MAKER_KEY,
    NOW,
    cardano_address,
    make_settings,
    make_validator,
    submission,
    to_json,
)
from tests.integration.cardano.chain import (
    ALWAYS,
    abi_script,
    key_hash,
    lock,
    pay,
    spend,
    submit,
    utxos_at,
    wait_for,
)
from tests.integration.cardano.conftest import SEED

JSON = {"content-type": "application/json"}
MAKER = GenesisAccount(address=cardano_address(), signing_key=CARDANO_MAKER_KEY, lovelace=0)


def cardano_settings(tmp_path: Path, url: str) -> Any:
    return make_settings(data_dir=str(tmp_path), **{
        "chains.cardano.follow": True, "chains.cardano.ogmios_url": url,
        "chains.cardano.reconnect_min_seconds": 0.05,
        "chains.cardano.reconnect_max_seconds": 0.2})


@pytest.fixture
async def app(sim: CardanoSimulator, tmp_path: Path) -> AsyncIterator[Starlette]:
    application = create_app(cardano_settings(tmp_path, sim.url), clock=FakeClock(NOW),
                             run_scheduler=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as c:
        yield c


@pytest.fixture
async def funded(sim: CardanoSimulator) -> GenesisAccount:
    """The factories' Cardano maker, with ada on the simulator."""
    payment = await asyncio.to_thread(pay, sim, sim.accounts[0], MAKER.address, 500_000_000)
    await submit(sim, payment)
    await sim.advance()
    return MAKER


def signed_order(**overrides: Any) -> tuple[OrderSubmissionWire, SignedOrder]:
    settings = make_settings()
    validator = make_validator(settings)
    wire = submission("ada_to_eth", validator=validator, **overrides)
    return wire, validator.accept(wire, now=NOW)


async def lock_for(sim: CardanoSimulator, signed: SignedOrder, *, lovelace: int | None = None,
                   script: Any = None, **datum_changes: Any) -> UtxoRefWire:
    """The maker locks funds for ``signed``; returns the output reference."""
    chains = ChainRegistry.from_settings(make_settings().chains)
    datum = dataclasses.replace(expected_datum(signed, chains), **datum_changes)
    amount = signed.order.making_amount if lovelace is None else lovelace
    tx = await asyncio.to_thread(lock, sim, MAKER, script or abi_script("order"), datum, amount)
    await submit(sim, tx)
    await sim.advance()
    return UtxoRefWire(tx_id=str(tx.id), index=0)


async def post(client: httpx.AsyncClient, wire: OrderSubmissionWire,
               utxo: UtxoRefWire) -> httpx.Response:
    body = msgspec.structs.replace(wire, src_order_utxo=utxo)
    return await client.post("/api/orders", content=to_json(body), headers=JSON)


async def order_records(app: Starlette, order_hash: str) -> int:
    return len(await app.state.relayer.store.read_stream(order_hash))


async def test_a_good_lock_is_accepted(sim: CardanoSimulator, app: Starlette,
                                       client: httpx.AsyncClient,
                                       funded: GenesisAccount) -> None:
    wire, signed = signed_order()
    utxo = await lock_for(sim, signed)
    response = await post(client, wire, utxo)
    assert response.status_code == 201, response.text
    assert response.json()["order_hash"] == signed.order_hash
    got = (await client.get(f"/api/orders/{signed.order_hash}")).json()
    assert got["status"] == "active"
    assert got["src_order_utxo"] == {"tx_id": utxo.tx_id, "index": 0}


@pytest.mark.parametrize("case", ["missing", "wrong_script", "datum", "underfunded", "spent"])
async def test_bad_locks_are_refused_with_their_code_and_nothing_is_stored(
        sim: CardanoSimulator, app: Starlette, client: httpx.AsyncClient,
        funded: GenesisAccount, case: str) -> None:
    wire, signed = signed_order()
    expected: dict[str, Any]
    if case == "missing":
        utxo = UtxoRefWire(tx_id="ab" * 32, index=0)
        expected = {"error_code": "ORDER_LOCK_MISSING"}
    elif case == "wrong_script":
        utxo = await lock_for(sim, signed, script=ALWAYS)
        expected = {"error_code": "ORDER_LOCK_WRONG_SCRIPT"}
    elif case == "datum":
        utxo = await lock_for(sim, signed, taking_amount=signed.order.taking_amount - 1,
                              deadline=signed.order.deadline + 1)
        expected = {"error_code": "ORDER_LOCK_DATUM_MISMATCH",
                    "fields": ["taking_amount", "deadline"]}
    elif case == "underfunded":
        utxo = await lock_for(sim, signed, lovelace=signed.order.making_amount - 1)
        expected = {"error_code": "ORDER_LOCK_UNDERFUNDED",
                    "locked": str(signed.order.making_amount - 1)}
    else:
        utxo = await lock_for(sim, signed)
        (locked,) = [u for u in await asyncio.to_thread(utxos_at, sim, abi_script("order"))
                     if str(u.input.transaction_id) == utxo.tx_id]
        reclaim = await asyncio.to_thread(spend, sim, MAKER, locked, abi_script("order"),
                                          Reclaim(), required=[key_hash(CARDANO_MAKER_KEY)])
        await submit(sim, reclaim)
        await sim.advance()
        expected = {"error_code": "ORDER_LOCK_MISSING"}
    response = await post(client, wire, utxo)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error_code"] == expected.pop("error_code")
    for key, value in expected.items():
        assert body["details"][key] == value
    assert await order_records(app, signed.order_hash) == 0
    assert (await client.get(f"/api/orders/{signed.order_hash}")).status_code == 404


async def test_reclaim_cancels_the_order(sim: CardanoSimulator, app: Starlette,
                                         client: httpx.AsyncClient,
                                         funded: GenesisAccount) -> None:
    wire, signed = signed_order()
    utxo = await lock_for(sim, signed)
    assert (await post(client, wire, utxo)).status_code == 201
    bus_events: list[Any] = []
    app.state.relayer.bus.subscribe(OrderLockSpent, bus_events.append)

    order_script = abi_script("order")
    (locked,) = [u for u in await asyncio.to_thread(utxos_at, sim, order_script)
                 if str(u.input.transaction_id) == utxo.tx_id]
    reclaim = await asyncio.to_thread(spend, sim, MAKER, locked, order_script, Reclaim(),
                                      required=[key_hash(CARDANO_MAKER_KEY)])
    await submit(sim, reclaim)
    await sim.advance()

    async def cancelled() -> bool:
        got = (await client.get(f"/api/orders/{signed.order_hash}")).json()
        return bool(got["status"] == "cancelled")

    await wait_for(cancelled, "the order to be cancelled")
    (spent,) = bus_events
    assert spent.spend is LockSpend.RECLAIM and spent.lock == f"{utxo.tx_id}#0"
    monitor = app.state.parts.cardano.monitor
    locks = [e for e in monitor.live_events() if isinstance(e, OrderLocked)]
    assert [lk.lock for lk in locks] == [f"{utxo.tx_id}#0"]
    assert locks[0].order_hash == signed.order_hash and locks[0].maker == MAKER.address


async def test_a_lock_under_someone_elses_order_does_not_cancel_it(
        sim: CardanoSimulator, app: Starlette, client: httpx.AsyncClient,
        funded: GenesisAccount) -> None:
    wire, signed = signed_order()
    assert (await post(client, wire, await lock_for(sim, signed))).status_code == 201
    # Someone else (a genesis account) locks under this order hash with itself as maker,
    # then reclaims it: the order stays active.
    other = sim.accounts[2]
    chains = ChainRegistry.from_settings(make_settings().chains)
    datum = dataclasses.replace(expected_datum(signed, chains), maker=PlutusAddress.from_address(
        Address.from_primitive(other.address)))
    tx = await asyncio.to_thread(lock, sim, other, abi_script("order"), datum, 5_000_000)
    await submit(sim, tx)
    await sim.advance()
    (locked,) = [u for u in await asyncio.to_thread(utxos_at, sim, abi_script("order"))
                 if str(u.input.transaction_id) == str(tx.id)]
    reclaim = await asyncio.to_thread(spend, sim, other, locked, abi_script("order"), Reclaim(),
                                      required=[key_hash(other.signing_key)])
    await submit(sim, reclaim)
    await sim.advance()
    monitor = app.state.parts.cardano.monitor

    def seen() -> bool:
        return any(isinstance(e, OrderLockSpent) for e in monitor.live_events())

    await wait_for(seen, "the reclaim to be seen")
    await app.state.relayer.bus.drain()
    got = (await client.get(f"/api/orders/{signed.order_hash}")).json()
    assert got["status"] == "active"


async def test_unreachable_node_refuses_with_503(tmp_path: Path) -> None:
    sim = CardanoSimulator(GenesisConfig(seed=SEED))
    await sim.start()
    url = sim.url
    await sim.stop()
    application = create_app(cardano_settings(tmp_path, url), clock=FakeClock(NOW),
                             run_scheduler=False)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as c:
            wire, signed = signed_order()
            response = await post(c, wire, UtxoRefWire(tx_id="ab" * 32, index=0))
            assert response.status_code == 503, response.text
            assert response.json()["error_code"] == "CHAIN_UNAVAILABLE"
            assert await order_records(application, signed.order_hash) == 0
            health = application.state.relayer.monitors
            assert [m.name for m in health] == ["cardano"]
            assert not health[0].status().connected


async def test_reclaim_while_the_relayer_was_down_cancels_at_restart(
        sim: CardanoSimulator, tmp_path: Path, funded: GenesisAccount) -> None:
    settings = cardano_settings(tmp_path, sim.url)
    wire, signed = signed_order()
    utxo = await lock_for(sim, signed)
    first = create_app(settings, clock=FakeClock(NOW), run_scheduler=False)
    async with first.router.lifespan_context(first):
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as c:
            assert (await post(c, wire, utxo)).status_code == 201
        monitor = first.state.parts.cardano.monitor
        await wait_for(lambda: monitor.status().processed == sim.tip.slot, "the lock")

    order_script = abi_script("order")
    (locked,) = [u for u in await asyncio.to_thread(utxos_at, sim, order_script)
                 if str(u.input.transaction_id) == utxo.tx_id]
    reclaim = await asyncio.to_thread(spend, sim, MAKER, locked, order_script, Reclaim(),
                                      required=[key_hash(CARDANO_MAKER_KEY)])
    await submit(sim, reclaim)
    await sim.advance()

    second = create_app(settings, clock=FakeClock(NOW), run_scheduler=False)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as c:

            async def cancelled() -> bool:
                got = (await c.get(f"/api/orders/{signed.order_hash}")).json()
                return bool(got["status"] == "cancelled")

            await wait_for(cancelled, "the order to be cancelled after the restart")
            history = await second.state.relayer.store.read_stream(signed.order_hash)
            assert [r.type for r in history] == ["OrderSubmitted", "OrderStatusChanged"]
