"""The real-server fixture of the WebSocket tests, for HTTP tests of ``relayer serve``'s
own protocol too."""

from tests.api.ws.conftest import serve  # noqa: F401 (a fixture, shared)
