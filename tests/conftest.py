from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from relayer.api.app import create_app
from relayer.clock import FakeClock
from relayer.orders.validation import OrderValidator
from tests.factories import NOW, make_settings, make_validator

pytest_plugins = ["tests.pg"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def validator() -> OrderValidator:
    return make_validator()


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Starlette]:
    settings = make_settings(data_dir=str(tmp_path))
    application = create_app(settings, clock=clock, run_scheduler=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relayer") as c:
        yield c
