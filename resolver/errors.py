"""Errors of the resolver's chain wallets (``resolver.chains.ChainWallet``).

One class, told apart by stable codes, so the resolver's logic can decide whether to
retry (a window not open yet, a transaction not included in time) or give up.
"""

from __future__ import annotations

from relayer.errors import RelayerError

TX_REJECTED = "TX_REJECTED"
"""The node refused the transaction (evaluation or submission), or it failed phase 2."""
TX_NOT_INCLUDED = "TX_NOT_INCLUDED"
"""Submitted, but not seen in a block before the deadline."""
WINDOW_NOT_OPEN = "WINDOW_NOT_OPEN"
"""The escrow's window for this action has not started yet at the chain's tip."""
WINDOW_CLOSED = "WINDOW_CLOSED"
"""The escrow's (or the order's) window for this action is over."""
NOT_FOUND = "WALLET_OUTPUT_NOT_FOUND"
"""The escrow or order output to act on is not (or no longer) on chain."""
NOT_ALLOWED = "ACTION_NOT_ALLOWED"
"""The action does not exist for this escrow (a destination escrow's public cancel)."""
INVALID_TERMS = "INVALID_TERMS"
"""Terms that cannot even be encoded (not an address, a secret of the wrong length)."""
INSUFFICIENT_FUNDS = "INSUFFICIENT_FUNDS"
"""The wallet cannot pay for the transaction."""


class WalletError(RelayerError):
    """A wallet action that did not happen on chain; ``code`` says why."""

    default_code = TX_REJECTED
