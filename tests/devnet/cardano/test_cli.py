"""`python -m devnet.cardano`: funds and writes the genesis keys, serves Ogmios on a
wall-clock slot schedule, and stops cleanly on SIGTERM / SIGINT."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import pytest
from pycardano import Address, PaymentSigningKey, PaymentVerificationKey

from tests.devnet.cardano.rpc import call

DEADLINE = 30


async def _read_line(process: asyncio.subprocess.Process, prefix: str) -> str:
    assert process.stdout is not None
    while True:
        line = (await asyncio.wait_for(process.stdout.readline(), DEADLINE)).decode()
        assert line, "the simulator exited early"
        if line.startswith(prefix):
            return line[len(prefix) :].strip()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
async def test_cli_serves_and_stops(tmp_path: Path, stop_signal: signal.Signals) -> None:
    keys_file = tmp_path / "keys.json"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "devnet.cardano",
        "--port",
        "0",
        "--keys-file",
        str(keys_file),
        "--slot-length-ms",
        "100",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        url = await _read_line(process, "ogmios: ")
        assert Path(await _read_line(process, "keys: ")) == keys_file
        accounts = json.loads(keys_file.read_text())
        assert len(accounts) == 4
        for account in accounts:
            key = PaymentSigningKey.from_cbor(account["signing_key"])
            vkey = PaymentVerificationKey.from_signing_key(key)
            assert Address.from_primitive(account["address"]).payment_part == vkey.hash()
            assert account["lovelace"] > 0

        first = (await call(url, "queryNetwork/tip"))["result"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE
        while (await call(url, "queryNetwork/tip"))["result"]["slot"] <= first["slot"]:
            assert loop.time() < deadline, "no block forged on the slot clock"
            await asyncio.sleep(0.05)

        utxo = await call(url, "queryLedgerState/utxo", {"addresses": [accounts[0]["address"]]})
        assert utxo["result"][0]["value"]["ada"]["lovelace"] == accounts[0]["lovelace"]
    finally:
        process.send_signal(stop_signal)
        assert await asyncio.wait_for(process.wait(), DEADLINE) == 0
