"""Live prices: the price board, the decayer that ticks it, quotes and price events."""
