"""The in-process event bus: publish after commit; a failing subscriber never blocks others."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

Handler = Callable[[Any], None | Awaitable[None]]


class EventBus:
    """Delivers each published event to every subscriber of its type (or of all types).

    Synchronous handlers run inline, in subscription order; coroutine handlers
    run as tasks, so a slow one never delays publishing. Errors are logged and
    counted per handler.
    """

    def __init__(self) -> None:
        self._handlers: dict[type[Any] | None, list[Handler]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.handler_errors = 0
        self.on_handler_error: Callable[[str], None] | None = None

    def subscribe(self, event_type: type[Any] | None, handler: Handler) -> Callable[[], None]:
        """Call ``handler`` for events of ``event_type`` (``None``: every event).

        Returns a function that removes the subscription.
        """
        handlers = self._handlers.setdefault(event_type, [])
        handlers.append(handler)

        def unsubscribe() -> None:
            if handler in handlers:
                handlers.remove(handler)

        return unsubscribe

    def publish(self, event: Any) -> None:
        for handler in (*self._handlers.get(type(event), ()), *self._handlers.get(None, ())):
            try:
                result = handler(event)
            except Exception:
                self._failed(handler, event)
                continue
            if result is not None and inspect.isawaitable(result):
                task = asyncio.ensure_future(self._run(handler, event, result))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: Handler, event: Any, awaitable: Awaitable[None]) -> None:
        try:
            await awaitable
        except Exception:
            self._failed(handler, event)

    def _failed(self, handler: Handler, event: Any) -> None:
        name = getattr(handler, "__qualname__", repr(handler))
        self.handler_errors += 1
        log.exception("event_handler_failed", handler=name, event_type=type(event).__name__)
        if self.on_handler_error is not None:
            self.on_handler_error(name)

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for running coroutine handlers (used at shutdown and in tests)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
