"""Webhooks: signed HTTPS pushes of public events to registered endpoints (docs/webhooks.md)."""
