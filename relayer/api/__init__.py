"""HTTP and WebSocket interface: routes, errors, OpenAPI, health."""
