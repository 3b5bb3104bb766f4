"""``relayer devnet``: the demo (``make devnet``), or one scripted scenario.

Without ``--scenario``: the devnet chains, the relayer and the reference
resolver (``relayer resolver`` child processes) come up; a demo maker swaps
TUSD for ADA and ADA for TUSD; progress and the balances that moved are
printed; the relayer keeps serving on localhost until Ctrl-C stops
everything. With ``--scenario NAME``: that scenario runs to its end, its
report is printed (``--json``: as JSON on stdout), and the exit status says
whether every check held.

Exit status with ``--scenario``: 0 every check held, 1 one failed (or the devnet
did not come up), 2 an unknown scenario, 3 the scenario cannot run here: it
needs what the flags did not give (``NEEDS``: PostgreSQL, several replicas).
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from relayer.devnet.scenario_kit import Report, Scene
from relayer.devnet.scenarios import NEEDS, SCENARIOS, describe, run_scenario
from relayer.devnet.stack import DEVNET_DIR, Devnet, DevnetOptions, forget_earlier_run
from relayer.log_setup import configure_logging

CANNOT_RUN_HERE = 3
"""Exit status of a scenario that needs more than the flags gave (not a failed check)."""


@dataclass(frozen=True, slots=True)
class Ports:
    relayer: int = 8080
    anvil: int = 8545
    ogmios: int = 1337


def main(*, config: str | None, port: int | None, scenario: str | None, as_json: bool,
         list_only: bool, directory: str | None = None, anvil_port: int | None = None,
         ogmios_port: int | None = None, store_url: str | None = None,
         replicas: int = 1) -> int:
    if list_only:
        for name in SCENARIOS:
            print(f"{name}\t{describe(name)}")
        return 0
    if scenario is not None and scenario not in SCENARIOS:
        print(f"relayer devnet: unknown scenario {scenario!r}; known: "
              f"{', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    needs = NEEDS.get(scenario or "")
    if needs is not None and needs.missing(store_url=store_url, replicas=replicas):
        print(f"relayer devnet: scenario {scenario} cannot run here: it needs {needs.flags}",
              file=sys.stderr)
        return CANNOT_RUN_HERE
    # Logs go to stderr; with --json, stdout holds nothing but the report. The ogmios
    # client warns about every reply its models do not know; the wallets handle those.
    configure_logging(format="console", level="info")
    logging.getLogger("ogmios").setLevel(logging.ERROR)
    logging.getLogger("web3").setLevel(logging.WARNING)
    ports = Ports()
    options = DevnetOptions(
        directory=Path(directory) if directory else DEVNET_DIR,
        relayer_port=port or ports.relayer, anvil_port=anvil_port or ports.anvil,
        ogmios_port=ogmios_port or ports.ogmios, config_file=config,
        store_url=store_url, replicas=replicas)
    if scenario is None:
        return asyncio.run(_demo(options))
    report = asyncio.run(_scenario(options, scenario))
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        _print_report(report)
    return 0 if report.ok else 1


async def _scenario(options: DevnetOptions, name: str) -> Report:
    forget_earlier_run(options.directory)
    devnet = Devnet(options)
    try:
        await devnet.start()
        return await run_scenario(name, devnet)
    except (RuntimeError, TimeoutError, OSError) as exc:
        return Report(scenario=name, error=f"devnet did not come up: {exc}")
    finally:
        devnet.stop()


async def _demo(options: DevnetOptions) -> int:
    forget_earlier_run(options.directory)
    devnet = Devnet(options)
    resolvers: list[subprocess.Popen[bytes]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        _say("starting anvil, the Cardano simulator and the relayer ...")
        await devnet.start()
        with open(devnet.dir / "resolver-alpha.log", "ab") as log:
            resolvers.append(subprocess.Popen(
                [sys.executable, "-m", "relayer", "resolver", "--config",
                 str(devnet.dir / "resolver-alpha.toml")], stdout=log, stderr=log))
        _say(f"ethereum {devnet.rpc_url} (deployment in {devnet.dir / 'ethereum.json'})")
        _say(f"cardano  {devnet.ogmios_url} (funded keys in {devnet.dir / 'cardano-keys.json'})")
        _say(f"relayer  {devnet.relayer_url} (logs in {devnet.dir / 'relayer.log'})")
        _say(f"Explorer: {devnet.relayer_url}/")
        _say(f"resolver alpha running (config {devnet.dir / 'resolver-alpha.toml'})")
        report = Report(scenario="demo")
        scene = Scene(devnet, report)
        try:
            await _demo_swaps(scene)
        finally:
            await scene.close()
        _say(f"the relayer keeps serving on {devnet.relayer_url}; Ctrl-C stops everything")
        await stop.wait()
        return 0
    except (RuntimeError, TimeoutError, OSError) as exc:
        _say(f"error: {exc}")
        return 1
    finally:
        for process in resolvers:
            process.terminate()
        for process in resolvers:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        devnet.stop()
        _say("stopped")


async def _demo_swaps(scene: Scene) -> None:
    for direction, custody in (("eth-to-ada", False), ("ada-to-eth", True)):
        await _demo_swap(scene, direction, custody)


async def _demo_swap(scene: Scene, direction: str, custody: bool) -> None:
    from relayer.devnet.scenario_kit import SETTLED, all_in

    spec = await scene.spec(direction, custody=custody)
    receiver_wallet = scene.ada_maker if spec.dst_chain == "cardano" else scene.eth_maker
    maker_wallet = scene.eth_maker if spec.src_chain == "ethereum" else scene.ada_maker
    maker_before = await maker_wallet.balance(spec.maker_asset)
    received_before = await receiver_wallet.balance(spec.taker_asset, spec.receiver)
    order = await scene.submit(spec)
    _say(f"{direction}: order {order.order_hash} submitted "
         f"({spec.making_amount} {spec.maker_asset} on {spec.src_chain} for at least "
         f"{spec.taking_amount} {spec.taker_asset} on {spec.dst_chain}; "
         f"secrets {'in custody' if custody else 'posted by the maker'})")
    if not custody:
        scene.spawn(scene.maker.keep_revealing([order]))
    last: list[str] = []

    async def progress() -> bool:
        fills = await scene.client.fills(order.order_hash)
        line = [f"{f.idx}:{f.status}" + (f" ({', '.join(f.reasons)})" if f.reasons else "")
                for f in fills]
        if line != last:
            last[:] = line
            _say(f"{direction}: " + ("; ".join(line) or "waiting for a resolver"))
        return bool(fills) and all_in({SETTLED})(fills)

    await scene.until(f"{direction} to settle", progress, timeout=180)
    maker_moved = await maker_wallet.balance(spec.maker_asset) - maker_before
    received = await receiver_wallet.balance(spec.taker_asset, spec.receiver) - received_before
    names = {scene.token: "TUSD", "lovelace": "lovelace"}
    locked = " (locked before it was submitted)" if spec.src_chain == "cardano" else ""
    _say(f"{direction}: settled. maker {maker_moved:+d} {names[spec.maker_asset]} on "
         f"{spec.src_chain}{locked}; receiver {received:+d} {names[spec.taker_asset]} "
         f"on {spec.dst_chain}")


def _print_report(report: Report) -> None:
    print(f"scenario {report.scenario}: {'ok' if report.ok else 'FAILED'} "
          f"in {report.seconds:.1f}s")
    for swap in report.swaps:
        print(f"  {swap.direction} {swap.order_hash}: {swap.status}; moved {swap.moved}")
    for check in report.checks:
        print(f"  [{'ok' if check.ok else 'FAIL'}] {check.name} {check.detail or ''}")
    if report.error:
        print(f"  error: {report.error}")


def _say(text: str) -> None:
    print(f"devnet: {text}", file=sys.stderr, flush=True)
