"""Ethereum: the escrow monitor (``monitor.py``) on a failover RPC client (``failover.py``),
and the maker-funds checks (``funds.py``)."""
