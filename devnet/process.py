"""Run ``relayer serve`` as a child process (integration tests, benchmarks, devnet)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

POLL_INTERVAL = 0.05


async def wait_until(check: Callable[[], Awaitable[bool]], *, timeout: float,
                     what: str) -> None:
    """Poll ``check`` until it is true, or raise ``TimeoutError`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class RelayerProcess:
    def __init__(self, data_dir: Path, port: int | None = None,
                 env: dict[str, str] | None = None, *, config: Path | None = None,
                 follow: bool = False, log_file: Path | None = None) -> None:
        """``follow``: let the config decide whether the chain monitors run (else both are
        off: tests and benchmarks of the API alone); ``log_file``: where stderr goes
        (default ``<data_dir>/stderr.log``)."""
        self.data_dir = data_dir
        self.config = config
        self.follow = follow
        self.log_file = log_file or data_dir / "stderr.log"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self, timeout: float = 30) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # No chain is followed unless the caller's env asks (tests and benchmarks of the API).
        env = dict(os.environ)
        if not self.follow:
            env.update({"RELAYER_LOG_LEVEL": "warning",
                        "RELAYER_CHAINS_ETHEREUM_FOLLOW": "false",
                        "RELAYER_CHAINS_CARDANO_FOLLOW": "false"})
        env.update(self.env)
        command = [sys.executable, "-m", "relayer", "serve", "--port", str(self.port),
                   "--data-dir", str(self.data_dir)]
        if self.config is not None:
            command += ["--config", str(self.config)]
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                            stderr=log)

        async def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"relayer exited with {self.process.returncode}")
            try:
                async with httpx.AsyncClient() as client:
                    r = await client.get(self.url + "/health/ready", timeout=1)
                return r.status_code == 200
            except httpx.TransportError:
                return False

        await wait_until(ready, timeout=timeout, what="relayer to be ready")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
