"""Cardano: validator data and compiled scripts, and the escrow monitor."""
