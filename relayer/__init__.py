"""Cross-chain Dutch-auction relayer for atomic swaps between Ethereum and Cardano."""

__version__ = "0.1.0"
