"""``python -m devnet --scenario NAME --json`` for every scenario, run the way the README
tells a new user to: a child process on the real devnet (anvil, the Cardano simulator,
``relayer serve``), its JSON report read back. Each scenario's report holds its own
checks (exact balances, reasons, refunds, a secret released once); here every one of
them must hold, and a few are named again so a scenario cannot pass by checking less.
Every order's final status must follow its fills (``executed``, ``refunded``), and
where no secret may go out (a wrong destination escrow, a forged lock, a shared
hashlock) the relayer's store must hold no release at all.

The same runs audit the logs: no line of the relayer's log or of the scenario's own
output (the reference resolvers and the maker run in it) may hold a maker's secret,
found as any 32-byte hex string whose keccak-256 is one of the orders' secret hashes.
"""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from devnet.process import free_port
from relayer.signing.keccak import keccak256

REQUIRED = ("eth-to-ada", "ada-to-eth", "partial-fill", "bad-dst-escrow", "resolver-vanishes",
            "forged-lock", "shared-hashlock")
HEX32 = re.compile(r"(?:0x)?([0-9a-fA-F]{64})")
EXPECTED_CHECKS = {
    "eth-to-ada": {"receiver got the promised amount", "maker paid exactly the making amount",
                   "alpha: balances exact (amounts, deposits back, fees)", "order executed",
                   "metrics: secrets released counted", "metrics: ethereum head and lag",
                   "metrics: cardano head and lag", "metrics: no hash or address as a label",
                   "metrics: requests by route template"},
    "ada-to-eth": {"receiver got the promised amount", "maker paid exactly the making amount",
                   "alpha: balances exact (amounts, deposits back, fees)", "order executed"},
    "partial-fill": {"three fills", "two resolvers filled",
                     "alpha: balances exact (amounts, deposits back, fees)",
                     "beta: balances exact (amounts, deposits back, fees)", "order executed"},
    "bad-dst-escrow": {f"{case}: {what}" for case in (
        "wrong amount", "wrong receiver", "wrong hashlock", "late cancellation")
        for what in ("secret withheld", "no secret ever released")}
    | {"maker refunded in full"},
    "resolver-vanishes": {"public cancel by another resolver", "maker refunded in full",
                          "canceller earned the safety deposit"},
    "forged-lock": {"the forged fill is shown as foreign",
                    "the maker's fill waits for a destination escrow of its own",
                    "no secret released", "the maker's escrow never withdrawn",
                    "the maker's fill refunded, the forged one still foreign",
                    "order refunded (the forged fill never counted)",
                    "maker refunded in full (and the forged 5 ADA on top)",
                    "attacker: out its 5 ADA and its fees, nothing gained"},
    "shared-hashlock": {"maker: the maker's secret refused (409 FILL_NOT_READY)", "maker whole",
                        "attacker: out its fees, nothing gained"}
    | {f"{mode}: {what}" for mode in ("maker", "custody") for what in (
        "the first fill withheld for coverage", "no source escrow withdrawn",
        "both source escrows cancelled", "both orders refunded", "no secret ever released")},
    "relayer-restart": {"secret released once, and the right one",
                        "alpha: balances exact (amounts, deposits back, fees)"},
    "leader-failover": {"one leader at the start", "secret released once, and the right one",
                        "alpha: balances exact (amounts, deposits back, fees)"},
}
SQLITE_SCENARIOS = [name for name in EXPECTED_CHECKS if name != "leader-failover"]
NO_SECRET = ("bad-dst-escrow", "forged-lock", "shared-hashlock")
"""Scenarios whose secrets must never be released: the store holds no release at all."""


def run_devnet(*args: str, directory: Path | None = None,
               timeout: float = 600) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "devnet", *args]
    if directory is not None:
        command += ["--dir", str(directory), "--port", str(free_port()),
                    "--anvil-port", str(free_port()), "--ogmios-port", str(free_port())]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_list_scenarios_names_every_acceptance_case() -> None:
    listed = run_devnet("--list-scenarios")
    assert listed.returncode == 0, listed.stderr
    names = [line.split("\t")[0] for line in listed.stdout.splitlines()]
    assert set(REQUIRED) <= set(names)
    assert all("\t" in line and line.split("\t")[1] for line in listed.stdout.splitlines())


def test_an_unknown_scenario_is_refused() -> None:
    result = run_devnet("--scenario", "no-such-thing")
    assert result.returncode == 2
    assert "unknown scenario" in result.stderr


@pytest.mark.parametrize("name", SQLITE_SCENARIOS)
def test_scenario(name: str, tmp_path: Path) -> None:
    result = run_devnet("--scenario", name, "--json", directory=tmp_path)
    report = _assert_passed(name, result, tmp_path)
    store = tmp_path / "relayer" / "relayer.sqlite3"
    if name == "relayer-restart":  # kill -9 mid-swap: still one release in the log
        (swap,) = report["swaps"]
        assert asyncio.run(_releases(store, swap["order_hash"])) == ["SecretReleased"]
    if name in NO_SECRET:
        for swap in report["swaps"]:
            assert asyncio.run(_releases(store, swap["order_hash"])) == [], swap["order_hash"]


async def _releases(path: Path, order_hash: str) -> list[str]:
    from relayer.store.sqlite import SQLiteEventStore

    store = SQLiteEventStore(path)
    await store.open()
    try:
        return [r.type for r in await store.read_stream(f"secret:{order_hash}:0")]
    finally:
        await store.close()


async def test_leader_failover_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """Issue 9: two replicas on one PostgreSQL; kill -9 of the leader mid-swap; the
    follower takes over, the swap settles and the secret is released exactly once (the
    store holds one release record)."""
    result = await asyncio.to_thread(
        run_devnet, "--scenario", "leader-failover", "--json", "--store-url", pg_url,
        "--replicas", "2", directory=tmp_path)
    report = _assert_passed("leader-failover", result, tmp_path)
    (swap,) = report["swaps"]
    assert swap["timings"]["takeover_seconds"] < 10
    from relayer.store.postgres import PostgresEventStore

    store = PostgresEventStore(pg_url)
    await store.open()
    try:
        releases = await store.read_stream(f"secret:{swap['order_hash']}:0")
    finally:
        await store.close()
    assert [r.type for r in releases] == ["SecretReleased"]


def _assert_passed(name: str, result: subprocess.CompletedProcess[str],
                   directory: Path) -> dict[str, Any]:
    assert result.stdout.strip(), f"no report (exit {result.returncode}): {result.stderr[-3000:]}"
    report: dict[str, Any] = json.loads(result.stdout)
    failed = [c for c in report["checks"] if not c["ok"]]
    assert report["error"] is None, (report["error"], result.stderr[-3000:])
    assert not failed, failed
    assert report["ok"] and result.returncode == 0
    names = {c["name"] for c in report["checks"]}
    assert EXPECTED_CHECKS[name] <= names, EXPECTED_CHECKS[name] - names
    assert report["swaps"] and all(s["order_hash"].startswith("0x") for s in report["swaps"])
    for swap in report["swaps"]:
        _assert_status_follows_fills(swap)
    _assert_no_secret_logged(report, sorted(directory.glob("relayer*.log")), result.stderr)
    return report


def _assert_status_follows_fills(swap: dict[str, Any]) -> None:
    """Every scenario ends with its fills over; the order's status (GET /api/orders/{hash}
    when the scenario ended) follows them: ``executed`` when they settled, ``refunded``
    when they were all refunded. Foreign fills (not the maker's funds) never count."""
    counted = [f["status"] for f in swap["fills"] if f["status"] != "foreign"]
    assert counted, f"{swap['order_hash']}: no fill of the maker's: {swap['fills']}"
    assert set(counted) <= {"settled", "refunded"}, (swap["order_hash"], swap["fills"])
    want = "executed" if "settled" in counted else "refunded"
    assert swap["status"] == want, (swap["order_hash"], swap["status"], swap["fills"])


def _assert_no_secret_logged(report: dict[str, Any], files: list[Path], output: str) -> None:
    hashes = {h.lower() for swap in report["swaps"] for h in swap["secret_hashes"]}
    assert hashes
    lines = output.splitlines()
    for file in files:
        text = file.read_text()
        assert text.strip(), f"{file} is empty: nothing was audited"
        lines += text.splitlines()
    candidates = 0
    for line in lines:
        for match in HEX32.finditer(line):
            candidates += 1
            digest = "0x" + keccak256(bytes.fromhex(match.group(1))).hex()
            assert digest not in hashes, f"a secret is in a log line: {line[:200]}"
    assert candidates, "no 32-byte value in any log line: the audit saw nothing"
