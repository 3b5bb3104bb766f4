"""The explorer: a live web page of the order book and of each order's auction and
escrows, served by the relayer itself (docs/explorer.md)."""
