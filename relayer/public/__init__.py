"""What the outside world sees: public events, channels, scopes and the views shared by
REST, the WebSocket and webhooks."""
