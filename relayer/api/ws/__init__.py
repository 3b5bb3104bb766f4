"""The WebSocket hub at ``/ws``: channels of public events, requests, snapshots.

- ``protocol``: the JSON messages, error codes and close codes (docs/websocket.md);
- ``connection``: one client: its bounded send queue and writer;
- ``hub``: channels, sequence numbers, fan-out from the event bus, heartbeats;
- ``reads``: snapshots and the order reads behind getActiveOrders and getOrder;
- ``methods``: the request methods;
- ``endpoint``: the ASGI endpoint: handshake, authentication, the read loop.
"""
