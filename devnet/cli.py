"""``python -m devnet`` (``relayer-devnet``): the demo (``make devnet``), or one
scripted scenario.

Without ``--scenario``: the devnet chains, the relayer and the reference
resolver (``python -m resolver`` child processes) come up; a demo maker swaps
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

import argparse
import asyncio
import json
import logging
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from devnet.maker import SwapSpec
from devnet.scenario_kit import Report, Scene
from devnet.scenarios import NEEDS, SCENARIOS, describe, run_scenario
from devnet.stack import DEVNET_DIR, Devnet, DevnetOptions, forget_earlier_run
from relayer.errors import ConfigError
from relayer.log_setup import configure_logging
from relayer.networks.registry import ChainRegistry

PROG = "relayer-devnet"
CANNOT_RUN_HERE = 3
"""Exit status of a scenario that needs more than the flags gave (not a failed check)."""
LOG_FILE = "devnet.log"
"""In the devnet directory: the log lines of this process (not of its child processes)."""


@dataclass(frozen=True, slots=True)
class Ports:
    relayer: int = 8080
    anvil: int = 8545
    ogmios: int = 1337


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run the whole local system, or one scripted scenario. Without "
                    "--scenario: local chains, the relayer, the reference resolver and a "
                    "demo maker swapping both ways, until Ctrl-C. With --scenario: that "
                    "scenario to its end; exit status 0 when every check held, 1 when one "
                    "failed, 2 for an unknown name, 3 when it cannot run here (it needs more, "
                    "see --list-scenarios). docs/devnet.md.")
    parser.add_argument("--config", help="a relayer TOML to start from (the devnet sets the "
                                         "chains, ports and data directory itself)")
    parser.add_argument("--port", type=int, help="the relayer's port (default 8080)")
    parser.add_argument("--scenario", help="run one scripted scenario to its end and exit")
    parser.add_argument("--json", action="store_true", help="print the scenario's report as "
                                                            "JSON on stdout")
    parser.add_argument("--list-scenarios", action="store_true",
                        help="name the scenarios, with what each needs, and exit")
    parser.add_argument("--dir", help="where the devnet keeps its files (default .devnet)")
    parser.add_argument("--anvil-port", type=int, help="anvil's JSON-RPC port (default 8545)")
    parser.add_argument("--ogmios-port", type=int,
                        help="the Cardano simulator's Ogmios port (default 1337)")
    parser.add_argument("--store-url", help="postgresql://... (default: SQLite in the devnet dir)")
    parser.add_argument("--replicas", type=int, default=1,
                        help="relayer processes on that store (several need PostgreSQL)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(config=args.config, port=args.port, scenario=args.scenario,
                   as_json=args.json, list_only=args.list_scenarios, directory=args.dir,
                   anvil_port=args.anvil_port, ogmios_port=args.ogmios_port,
                   store_url=args.store_url, replicas=args.replicas)
    except ConfigError as exc:
        print(f"{PROG}: configuration error: {exc.message}", file=sys.stderr)
        return 2


def run(*, config: str | None, port: int | None, scenario: str | None, as_json: bool,
        list_only: bool, directory: str | None = None, anvil_port: int | None = None,
        ogmios_port: int | None = None, store_url: str | None = None,
        replicas: int = 1) -> int:
    if list_only:
        for name in SCENARIOS:
            print(f"{name}\t{describe(name)}")
        return 0
    if scenario is not None and scenario not in SCENARIOS:
        print(f"{PROG}: unknown scenario {scenario!r}; known: "
              f"{', '.join(SCENARIOS)}", file=sys.stderr)
        return 2
    needs = NEEDS.get(scenario or "")
    if needs is not None and needs.missing(store_url=store_url, replicas=replicas):
        print(f"{PROG}: scenario {scenario} cannot run here: it needs {needs.flags}",
              file=sys.stderr)
        return CANNOT_RUN_HERE
    ports = Ports()
    options = DevnetOptions(
        directory=Path(directory) if directory else DEVNET_DIR,
        relayer_port=port or ports.relayer, anvil_port=anvil_port or ports.anvil,
        ogmios_port=ogmios_port or ports.ogmios, config_file=config,
        store_url=store_url, replicas=replicas)
    if scenario is not None and as_json:
        # stdout holds nothing but the report; the log lines go to stderr.
        configure_logging(format="console", level="info")
    else:
        # The console is for what the devnet says; the log lines of what runs in this
        # process (the maker, wallets, a scenario's resolvers, their libraries) go to a
        # file of their own, as the child processes' do.
        options.directory.mkdir(parents=True, exist_ok=True)
        log_file = open(options.directory / LOG_FILE, "w")  # open for the process's life
        configure_logging(format="json", level="info", stream=log_file)
        logging.captureWarnings(True)
    logging.getLogger("web3").setLevel(logging.WARNING)
    if scenario is None:
        return asyncio.run(_demo(options))
    report = asyncio.run(_scenario(options, scenario))
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        _print_report(report)
        print(f"  log: {options.directory / LOG_FILE}")
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
                [sys.executable, "-m", "resolver", "--config",
                 str(devnet.dir / "resolver-alpha.toml")], stdout=log, stderr=log))
        _say(f"ethereum {devnet.rpc_url} (deployment in {devnet.dir / 'ethereum.json'})")
        _say(f"cardano  {devnet.ogmios_url} (funded keys in {devnet.dir / 'cardano-keys.json'})")
        _say(f"relayer  {devnet.relayer_url} (logs in {devnet.dir / 'relayer.log'})")
        _say(f"demo maker and wallets: logs in {devnet.dir / LOG_FILE}")
        _say(f"Explorer: {devnet.relayer_url}/")
        _say(f"resolver alpha running (config {devnet.dir / 'resolver-alpha.toml'}, "
             f"logs in {devnet.dir / 'resolver-alpha.log'})")
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
    from devnet.scenario_kit import SETTLED, all_in

    spec = await scene.spec(direction, custody=custody)
    receiver_wallet = scene.ada_maker if spec.dst_chain == "cardano" else scene.eth_maker
    maker_wallet = scene.eth_maker if spec.src_chain == "ethereum" else scene.ada_maker
    maker_before = await maker_wallet.balance(spec.maker_asset)
    received_before = await receiver_wallet.balance(spec.taker_asset, spec.receiver)
    order = await scene.submit(spec)
    _say(f"{direction}: order {order.order_hash} submitted "
         f"({submitted_terms(scene.chains, spec)}; "
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
    _say(f"{direction}: settled. {moved_terms(scene.chains, spec, maker_moved, received)}")


def human_amount(amount: int, decimals: int, *, signed: bool = False) -> str:
    """Base units as a person reads them, exactly (integers and text, never a float):
    ``-100000000, 6`` -> ``-100``, ``197980000, 6, signed`` -> ``+197.98``."""
    sign = "-" if amount < 0 else "+" if signed and amount > 0 else ""
    whole, fraction = divmod(abs(amount), 10**decimals)
    text = f"{whole:,}"
    if fraction:
        text += "." + f"{fraction:0{decimals}d}".rstrip("0")
    return sign + text


def _tokens(chains: ChainRegistry, chain: str, asset_id: str, amount: int, *,
            signed: bool = False) -> str:
    asset = chains.get(chain, field="chain").asset(asset_id, field="asset")
    return f"{human_amount(amount, asset.decimals, signed=signed)} {asset.symbol}"


def submitted_terms(chains: ChainRegistry, spec: SwapSpec) -> str:
    return (f"{_tokens(chains, spec.src_chain, spec.maker_asset, spec.making_amount)} on "
            f"{spec.src_chain} for at least "
            f"{_tokens(chains, spec.dst_chain, spec.taker_asset, spec.taking_amount)} on "
            f"{spec.dst_chain}")


def moved_terms(chains: ChainRegistry, spec: SwapSpec, maker_moved: int, received: int) -> str:
    """What the swap moved: the maker's balance of its asset, the receiver's of the other."""
    paid = f"maker {_tokens(chains, spec.src_chain, spec.maker_asset, maker_moved, signed=True)}"
    paid += f" on {spec.src_chain}"
    fee = -maker_moved - spec.making_amount
    if spec.src_chain == "cardano":  # the lock was the maker's own transaction
        paid += (f" ({_tokens(chains, spec.src_chain, spec.maker_asset, spec.making_amount)} "
                 "locked before the order was submitted, and that transaction's fee of "
                 f"{_tokens(chains, spec.src_chain, spec.maker_asset, fee)})")
    got = _tokens(chains, spec.dst_chain, spec.taker_asset, received, signed=True)
    return f"{paid}; receiver {got} on {spec.dst_chain}"


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
