"""What scripted devnet scenarios share: the parties, order terms, waiting, checks
and the JSON report.

A scenario runs against a started ``Devnet``: a demo maker submits swaps, the
reference resolvers run in this process (so their own account of fees is at
hand for exact balance checks), and a rogue party can act on the chains with
bare wallets. Every check is recorded with what was measured; the scenario
passes only when all hold.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import msgspec
import structlog
from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

from devnet.attacker import Attacker
from devnet.maker import DemoMaker, MakerOrder, SwapSpec
from devnet.stack import ADA_PER_TUSD, Devnet
from relayer.auction.details import AuctionDetails
from relayer.errors import RelayerError
from relayer.orders.codec import order_to_wire, submission_from_wire
from relayer.orders.model import Order
from relayer.orders.signer import SecretSet, order_digest_of, sign_evm
from relayer.orders.timelocks import Timelocks
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import CustodyWire, OrderSubmissionWire
from relayer.settlement.custody import seal_secret
from relayer.signing.secp256k1 import private_key_address
from resolver.chains import ChainWallet
from resolver.client import FillState, RelayerClient
from resolver.engine import Resolver, ResolverTiming
from resolver.main import open_wallets
from resolver.pricing import Pricer
from resolver.settings import load_resolver_settings

log = structlog.get_logger(__name__)
TIMELOCKS = Timelocks(src_withdrawal=6, src_public_withdrawal=60, src_cancellation=90,
                      src_public_cancellation=100, dst_withdrawal=5, dst_public_withdrawal=50,
                      dst_cancellation=80)
"""Short stages for the devnet: a swap settles in seconds, a refund takes two minutes."""
SHORT_TIMELOCKS = Timelocks(src_withdrawal=2, src_public_withdrawal=10, src_cancellation=24,
                            src_public_cancellation=30, dst_withdrawal=2,
                            dst_public_withdrawal=8, dst_cancellation=20)
"""For scenarios that must see escrows cancelled."""
TUSD = 10**6
ADA = 10**6
SETTLED = "settled"
REFUNDED = "refunded"
"""Fill statuses; an order whose fills all settled is ``executed``, all refunded
``refunded`` (the same word as a fill's)."""
EXECUTED = "executed"
FOREIGN = "foreign"
"""A fill whose source escrow does not hold the maker's funds: it never moves the order."""
FINAL_STATUS_SECONDS = 10.0
SWAP_TIMEOUT = 120.0
REFUND_TIMEOUT = 150.0


class ScenarioFailed(RelayerError):
    default_code = "SCENARIO_FAILED"


@dataclass
class Check:
    name: str
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class SwapReport:
    order_hash: str
    direction: str
    status: str = ""
    fills: list[dict[str, Any]] = field(default_factory=list)
    moved: dict[str, dict[str, int]] = field(default_factory=dict)
    """Per party and ``chain:asset``: the balance change measured."""
    secret_hashes: list[str] = field(default_factory=list)
    """Public: lets a log audit find any secret that leaked (tests/e2e)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds after the scenario started."""
    reasons_seen: list[str] = field(default_factory=list)
    reasons_by_fill: dict[str, list[str]] = field(default_factory=dict)
    """Every withheld reason seen, per fill id."""


@dataclass
class Report:
    scenario: str
    ok: bool = False
    seconds: float = 0.0
    swaps: list[SwapReport] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def fresh_evm_address() -> str:
    from devnet.ethereum import to_checksum

    return to_checksum(private_key_address(os.urandom(32)))


def fresh_cardano_address() -> str:
    key = PaymentVerificationKey.from_signing_key(PaymentSigningKey.generate())
    return str(Address(key.hash(), network=Network.TESTNET))


class Scene:
    """One scenario's world: the devnet, its maker, resolvers and report."""

    def __init__(self, devnet: Devnet, report: Report) -> None:
        self.devnet = devnet
        self.report = report
        self.client = RelayerClient(devnet.relayer_url)
        # Released secrets are for keys with the secrets scope (docs/api.md).
        self.watcher = RelayerClient(devnet.relayer_url, api_key=devnet.api_key("watcher"))
        settings = devnet.relayer_settings()
        self.validator = OrderValidator.from_settings(settings)
        self.chains = devnet.chains()
        self.token = str(devnet.deployment["token"])
        self.eth_maker = devnet.ethereum_wallet("maker")
        self.ada_maker = devnet.cardano_wallet("maker")
        self.maker = DemoMaker(client=self.client, validator=self.validator, chains=self.chains,
                               evm_key=devnet.eth_key("maker"), evm=self.eth_maker,
                               cardano_key=devnet.cardano_key("maker"), cardano=self.ada_maker)
        self.resolvers: dict[str, Resolver] = {}
        self._tasks: list[asyncio.Task[Any]] = []
        self._wallets: list[ChainWallet] = [self.eth_maker, self.ada_maker]
        self._clients: list[RelayerClient] = [self.watcher]
        self._attackers: list[Attacker] = []
        self.started = time.monotonic()

    # ------------------------------------------------------------------ parties

    def wallets(self, party: str) -> dict[str, ChainWallet]:
        wallets: dict[str, ChainWallet] = {"ethereum": self.devnet.ethereum_wallet(party),
                                           "cardano": self.devnet.cardano_wallet(party)}
        self._wallets.extend(wallets.values())
        return wallets

    def start_resolver(self, name: str, *, parts_per_fill: int | None = None) -> Resolver:
        """The reference resolver ``name`` with its devnet config, run in this process."""
        settings = load_resolver_settings(self.devnet.dir / f"resolver-{name}.toml")
        wallets = open_wallets(settings, self.chains)
        self._wallets.extend(wallets.values())
        pricer = Pricer(list(settings.rates), settings.costs,
                        parts_per_fill=(settings.parts_per_fill if parts_per_fill is None
                                        else parts_per_fill))
        client = RelayerClient(self.devnet.relayer_url, api_key=settings.api_key)
        self._clients.append(client)
        resolver = Resolver(name=name, client=client,
                            wallets=wallets, pricer=pricer,
                            timing=ResolverTiming(poll_seconds=0.25, retry_seconds=0.5,
                                                  cancel_margin_seconds=15,
                                                  fill_backoff_seconds=2.0))
        self.resolvers[name] = resolver
        self.spawn(resolver.run())
        return resolver

    def attacker(self, name: str) -> Attacker:
        """Resolver ``name``'s keys (and API key) in the hands of a thief, driven step
        by step by the scenario (``devnet.attacker``)."""
        attacker = Attacker(name=name, ethereum=self.devnet.ethereum_wallet(name),
                            cardano=self.devnet.cardano_wallet(name), chains=self.chains,
                            client=RelayerClient(self.devnet.relayer_url,
                                                 api_key=self.devnet.api_key(name)))
        self._attackers.append(attacker)
        return attacker

    def spawn(self, work: Awaitable[Any]) -> None:
        self._tasks.append(asyncio.ensure_future(work))

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for wallet in self._wallets:
            await wallet.close()
        for attacker in self._attackers:
            await attacker.close()
        for client in (*self._clients, self.client):
            await client.close()

    # ------------------------------------------------------------------ orders

    async def spec(self, direction: str, *, parts: int = 1, custody: bool = False,
                   timelocks: Timelocks = TIMELOCKS, making: int | None = None,
                   initial_rate_bump: int = 450_000) -> SwapSpec:
        """A swap at a fair price: 100 TUSD for at least 190 ADA, or 200 ADA for at least
        95 TUSD, starting 4.5% above that and falling over a minute, so the reference
        resolvers (1% margin) take it after a few seconds."""
        eth_to_ada = direction == "eth-to-ada"
        src, dst = ("ethereum", "cardano") if eth_to_ada else ("cardano", "ethereum")
        now = await (self.eth_maker if eth_to_ada else self.ada_maker).chain_time()
        ratio = int(ADA_PER_TUSD)
        if eth_to_ada:
            making = making or 100 * TUSD
            taking = making * ratio * 95 // 100
        else:
            making = making or 200 * ADA
            taking = making // ratio * 95 // 100
        return SwapSpec(
            src_chain=src, dst_chain=dst,
            maker_asset=self.token if eth_to_ada else "lovelace",
            taker_asset="lovelace" if eth_to_ada else self.token,
            making_amount=making, taking_amount=taking,
            receiver=fresh_cardano_address() if eth_to_ada else fresh_evm_address(),
            auction=AuctionDetails(start_time=now, duration=60,
                                   initial_rate_bump=initial_rate_bump, points=()),
            timelocks=timelocks,
            src_safety_deposit=self.chains.get(src, field="src").safety_deposit,
            dst_safety_deposit=self.chains.get(dst, field="dst").safety_deposit,
            deadline=now + 600, parts=parts, custody=custody)

    async def submit(self, spec: SwapSpec, *, secrets: SecretSet | None = None
                     ) -> MakerOrder:
        """The demo maker submits ``spec``; with ``secrets``, an Ethereum-source order
        locked with those (already used) secrets instead of fresh ones."""
        order = (await self.maker.submit(spec) if secrets is None
                 else await self._submit_reusing(spec, secrets))
        self.report.swaps.append(SwapReport(
            order.order_hash, spec.direction,
            secret_hashes=["0x" + h.hex() for h in order.secrets.hashes]))
        return order

    async def _submit_reusing(self, spec: SwapSpec, secrets: SecretSet) -> MakerOrder:
        """What a careless wallet does: sign another Ethereum-source order with secrets an
        earlier order uses (the demo maker approved the factory with that order)."""
        if spec.src_chain != "ethereum":
            raise ScenarioFailed("only Ethereum-source orders reuse secrets here")
        wire = order_to_wire(Order(
            salt=random.getrandbits(64), src_chain=spec.src_chain, dst_chain=spec.dst_chain,
            maker=self.eth_maker.address, receiver=spec.receiver,
            maker_asset=spec.maker_asset, taker_asset=spec.taker_asset,
            making_amount=spec.making_amount, taking_amount=spec.taking_amount,
            auction=spec.auction, hashlock=secrets.hashlock, parts=spec.parts,
            timelocks=spec.timelocks, src_safety_deposit=spec.src_safety_deposit,
            dst_safety_deposit=spec.dst_safety_deposit, deadline=spec.deadline))
        _, order_hash = self.validator.canonical(wire)
        submission = OrderSubmissionWire(
            order=wire, secret_hashes=["0x" + h.hex() for h in secrets.hashes],
            signature=sign_evm(order_digest_of(self.validator, wire),
                               self.devnet.eth_key("maker")))
        if spec.custody:
            key_id = await self.client.custody_key()
            submission = msgspec.structs.replace(submission, custody=CustodyWire(
                key_id=key_id,
                sealed_secrets=["0x" + seal_secret(key_id, s).hex() for s in secrets.secrets]))
        accepted = await self.client.submit(submission)
        if accepted != order_hash:
            raise ScenarioFailed(f"the relayer took order {accepted}, not {order_hash}")
        return MakerOrder(spec=spec, signed=submission_from_wire(order_hash, submission),
                          secrets=secrets)

    async def finish(self) -> None:
        """Every swap's final order status and fills, as the relayer shows them. An order
        whose fills are all over moves to its own final status in the same evaluation:
        it is given a few seconds to be seen there."""
        deadline = time.monotonic() + FINAL_STATUS_SECONDS
        for swap in self.report.swaps:
            while True:
                try:
                    fills = await self.client.fills(swap.order_hash)
                    swap.status = await self.order_status(swap.order_hash)
                except RelayerError as exc:  # a scenario that broke the relayer
                    log.warning("scenario_final_state_unread", order_hash=swap.order_hash,
                                error=exc.code)
                    break
                swap.fills = [{"fill_id": f.fill_id, "idx": f.idx, "status": f.status,
                               "reasons": list(f.reasons)} for f in fills]
                due = order_status_due(swap.fills)
                if due is None or due == swap.status or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)

    def swap_report(self, order: MakerOrder) -> SwapReport:
        return next(s for s in self.report.swaps if s.order_hash == order.order_hash)

    # ------------------------------------------------------------------ waiting and checks

    async def until(self, what: str, probe: Callable[[], Awaitable[bool]], *,
                    timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if await probe():
                    return
            except RelayerError:
                pass  # the relayer restarting: ask again
            if time.monotonic() > deadline:
                raise ScenarioFailed(f"timed out after {timeout:.0f}s waiting for {what}")
            await asyncio.sleep(0.25)

    async def until_fills(self, order: MakerOrder, what: str,
                          done: Callable[[list[FillState]], bool], *, timeout: float
                          ) -> list[FillState]:
        """Watch ``order``'s fills (recording timings and every withheld reason seen)
        until ``done`` holds for them."""
        report = self.swap_report(order)
        seen: list[FillState] = []

        async def probe() -> bool:
            fills = await self.client.fills(order.order_hash)
            seen[:] = fills
            elapsed = round(time.monotonic() - self.started, 2)
            for fill in fills:
                report.timings.setdefault(f"{fill.idx}:{fill.status}", elapsed)
                per_fill = report.reasons_by_fill.setdefault(fill.fill_id, [])
                for reason in fill.reasons:
                    if reason not in report.reasons_seen:
                        report.reasons_seen.append(reason)
                    if reason not in per_fill:
                        per_fill.append(reason)
            return bool(fills) and done(fills)

        await self.until(what, probe, timeout=timeout)
        report.fills = [{"fill_id": f.fill_id, "idx": f.idx, "status": f.status,
                         "reasons": list(f.reasons)} for f in seen]
        report.status = await self.order_status(order.order_hash)
        return seen

    async def final_status(self, order: MakerOrder, want: str) -> str:
        """The order's status once it is ``want`` (its fills are over: the coordinator
        moves it in the same evaluation), or what it is after a few seconds."""
        deadline = time.monotonic() + FINAL_STATUS_SECONDS
        while True:
            status = await self.order_status(order.order_hash)
            if status == want or time.monotonic() > deadline:
                self.swap_report(order).status = status
                return status
            await asyncio.sleep(0.25)

    async def order_status(self, order_hash: str) -> str:
        """The order's status as the relayer shows it (what it says, should the view
        no longer decode: an overfilled order once showed a negative remaining amount)."""
        try:
            return (await self.client.order(order_hash)).status
        except msgspec.ValidationError as exc:
            return f"unreadable: {exc}"

    def check(self, name: str, ok: bool, **detail: Any) -> bool:
        self.report.checks.append(Check(name, bool(ok), detail))
        return bool(ok)


class Balances:
    """Balances of named parties at one moment, to compare with a later one."""

    def __init__(self, scene: Scene, parties: dict[str, list[tuple[ChainWallet, str, str]]]
                 ) -> None:
        """``parties``: name -> [(a wallet on the chain, the asset, the address)]."""
        self._scene = scene
        self._parties = parties
        self._before: dict[tuple[str, str], int] = {}

    async def _read(self, only: str | None = None) -> dict[tuple[str, str], int]:
        values = {}
        for party, entries in self._parties.items():
            if only is not None and party != only:
                continue
            for wallet, asset, address in entries:
                key = (party, f"{wallet.chain}:{asset}")
                values[key] = await wallet.balance(asset, address)
        return values

    async def snapshot(self, party: str | None = None) -> None:
        """Take the starting balances (of ``party`` only: the others stay)."""
        self._before.update(await self._read(party))

    async def moved(self) -> dict[str, dict[str, int]]:
        after = await self._read()
        moved: dict[str, dict[str, int]] = {}
        for (party, asset), value in after.items():
            moved.setdefault(party, {})[asset] = value - self._before[(party, asset)]
        return moved


async def check_metrics(scene: Scene, *, secrets: int) -> None:
    """After a swap, ``/metrics`` shows it (docs/metrics.md), with no order hash or
    address as a label value."""
    import re

    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    async with httpx.AsyncClient(base_url=scene.devnet.relayer_url) as http:
        text = (await http.get("/metrics", timeout=10)).text
    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))

    def total(name: str, **labels: str) -> float:
        return sum(v for got, v in samples.get(name, [])
                   if all(got.get(k) == want for k, want in labels.items()))

    hex_label = re.compile(r"0x[0-9a-fA-F]{40,}")
    leaked = sorted({value for rows in samples.values() for labels, _ in rows
                     for value in labels.values() if hex_label.search(value)})
    scene.check("metrics: secrets released counted",
                total("relayer_secrets_released_total") >= secrets,
                released=total("relayer_secrets_released_total"))
    scene.check("metrics: withheld reasons counted",
                total("relayer_secrets_withheld_total", reason="DST_FINALITY_LOCK") > 0,
                finality_lock=total("relayer_secrets_withheld_total",
                                    reason="DST_FINALITY_LOCK"))
    for chain in ("ethereum", "cardano"):
        scene.check(f"metrics: {chain} head and lag",
                    total("relayer_chain_head", chain=chain) > 0
                    and total("relayer_chain_connected", chain=chain) == 1
                    and 0 <= total("relayer_chain_lag", chain=chain) <= 5,
                    head=total("relayer_chain_head", chain=chain),
                    lag=total("relayer_chain_lag", chain=chain))
    scene.check("metrics: orders by status", total("relayer_orders", status=EXECUTED) >= 1,
                executed=total("relayer_orders", status=EXECUTED))
    fills_route = "/api/orders/{order_hash}/fills"
    scene.check("metrics: requests by route template",
                total("relayer_http_requests_total", route=fills_route) > 0,
                fills_requests=total("relayer_http_requests_total", route=fills_route))
    scene.check("metrics: decayer ticking", total("relayer_decayer_ticks_total") > 0,
                ticks=total("relayer_decayer_ticks_total"))
    scene.check("metrics: no hash or address as a label", not leaked, leaked=leaked[:3])


class RevertedFees:
    """What an Ethereum address paid for transactions that reverted since a block.

    A resolver's records count the fee of every transaction of its swaps; a fill that
    reverted (another resolver took the part first) never became a swap, but it paid
    for its gas all the same. The chain itself says how much."""

    def __init__(self, rpc_url: str) -> None:
        self._rpc_url = rpc_url
        self._since = 0

    async def _call(self, method: str, *params: Any) -> Any:
        import httpx

        async with httpx.AsyncClient() as http:
            answer = (await http.post(self._rpc_url, timeout=10, json={
                "jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})).json()
        if "error" in answer:
            raise ScenarioFailed(f"{method}: {answer['error']}")
        return answer["result"]

    async def start(self) -> None:
        """Count from the next block on."""
        self._since = int(await self._call("eth_blockNumber"), 16) + 1

    async def of(self, address: str) -> int:
        latest = int(await self._call("eth_blockNumber"), 16)
        total = 0
        for number in range(self._since, latest + 1):
            for receipt in await self._call("eth_getBlockReceipts", hex(number)) or ():
                if (receipt["from"].lower() == address.lower()
                        and int(receipt["status"], 16) == 0):
                    total += int(receipt["gasUsed"], 16) * int(receipt["effectiveGasPrice"], 16)
        return total


def order_status_due(fills: list[dict[str, Any]]) -> str | None:
    """The status an order's fills (as ``SwapReport.fills``) call for once they are all
    over: ``executed`` when every fill that counts settled (or some settled and the rest
    were refunded), ``refunded`` when all were refunded; None while any is open or none
    counts. Foreign fills never count (docs/settlement.md, "Order status from its
    fills")."""
    counted = [f["status"] for f in fills if f["status"] != FOREIGN]
    if not counted or any(s not in (SETTLED, REFUNDED) for s in counted):
        return None
    return EXECUTED if SETTLED in counted else REFUNDED


def all_in(statuses: set[str]) -> Callable[[list[FillState]], bool]:
    return lambda fills: all(f.status in statuses for f in fills)
