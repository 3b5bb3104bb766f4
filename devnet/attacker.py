"""A thief for the devnet's adversarial scenarios: a registered resolver's keys used
the way the reference resolver never would.

``forged-lock`` and ``shared-hashlock`` (``devnet.scenarios``) drive it step
by step. Each step is something any resolver can do on chain with its own wallets:

- ``forge_lock``: pay a few ADA of its own to the Cardano order script under a copy of
  an order's datum that says the order is that small (same order hash, maker,
  hashlock and terms). The order validator only reads the datum of the output it
  guards, so the copy can be filled like the maker's lock;
- ``fill``: fill an order whole at the curve's price now, into a source escrow: the
  maker's lock (or a given one) on Cardano, the factory with the maker's signature on
  Ethereum;
- ``fund_dst``: the destination escrow an honest resolver would create for one source
  escrow (and only that one);
- ``play_out``: watch the relayer for the secret; with it, withdraw every source
  escrow it holds (the maker's funds) and keep its destination escrows to cancel
  later; without it, cancel everything once the windows open.

Every transaction's fee is kept per chain (``fees``), so a scenario checks every
party's balance to the unit.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import structlog

from relayer.auction.curve import fill_taking_amount
from relayer.chains.cardano.funds import expected_datum
from relayer.chains.events import EscrowRole
from relayer.errors import RelayerError
from relayer.networks.registry import ChainRegistry
from relayer.orders.model import SignedOrder, UtxoRef
from relayer.orders.timelocks import Stage
from relayer.settlement.policy import stage_start
from resolver.cardano import CardanoWallet
from resolver.chains import ChainWallet, EscrowHandle, FillPlan, Sent, dst_terms
from resolver.client import RelayerClient
from resolver.errors import WINDOW_NOT_OPEN, WalletError
from resolver.ethereum import EthereumWallet

log = structlog.get_logger(__name__)

T = TypeVar("T")
UNLIMITED = 2**256 - 1
POLL_SECONDS = 0.25
WINDOW_GRACE_SECONDS = 15.0
"""How long an action is retried after its window should have opened (a Cardano
escrow's cancellation is indexed rounded down to the second, the tip lags a block)."""


@dataclass
class Outcome:
    """What ``play_out`` did."""

    secret: bytes | None = None
    withdrawn: list[str] = field(default_factory=list)
    """Source escrows emptied with the secret: the maker's funds, taken."""
    cancelled: list[str] = field(default_factory=list)


class Attacker:
    def __init__(self, *, name: str, ethereum: EthereumWallet, cardano: CardanoWallet,
                 chains: ChainRegistry, client: RelayerClient) -> None:
        self.name = name
        self.ethereum = ethereum
        self.cardano = cardano
        self._chains = chains
        self._client = client
        self.fees: dict[str, int] = {"ethereum": 0, "cardano": 0}
        """What every transaction sent so far cost, per chain (wei, lovelace)."""

    def wallet(self, chain: str) -> ChainWallet:
        return self.ethereum if chain == "ethereum" else self.cardano

    def _paid(self, chain: str, sent: Sent, what: str) -> None:
        self.fees[chain] += sent.fee
        log.info("attacker_sent", attacker=self.name, chain=chain, action=what,
                 tx_id=sent.tx_id, fee=sent.fee)

    # -- setting the trap -------------------------------------------------------------

    async def approve(self, token: str) -> None:
        """Let the Ethereum factory take ``token`` once, so a destination escrow later is
        one transaction (it must land before its source escrow's cancellation)."""
        self._paid("ethereum", await self.ethereum.approve(token, UNLIMITED), "approve")

    async def forge_lock(self, signed: SignedOrder, amount: int) -> UtxoRef:
        """Pay ``amount`` of the maker asset to the order script under a copy of the
        Cardano order's datum saying the order is for ``amount`` (its minimum taking
        amount scaled down alike); the output."""
        real = expected_datum(signed, self._chains)
        forged = replace(real, making_amount=amount,
                         taking_amount=real.taking_amount * amount // real.making_amount)
        ref, sent = await self.cardano.lock(forged)
        self._paid("cardano", sent, "forge_lock")
        return ref

    async def fill(self, signed: SignedOrder, *, lock: UtxoRef | None = None,
                   amount: int | None = None) -> EscrowHandle:
        """Fill ``signed`` whole into a source escrow, promising what the order's own
        curve asks now for ``amount`` (default: the making amount). On Cardano ``lock``
        names the order-script output to spend (default: the maker's)."""
        order = signed.order
        amount = order.making_amount if amount is None else amount
        wallet = self.wallet(order.src_chain)
        now = await wallet.chain_time()
        # The curve only falls: the price at the tip is the most the fill can be asked.
        promised = fill_taking_amount(order.taking_amount, order.making_amount, amount,
                                      order.auction, now)
        target = signed if lock is None else replace(signed, src_order_utxo=lock)
        handle = await wallet.fill(FillPlan(order=target, amount=amount, dst_amount=promised,
                                            secret_index=0, secret_hash=order.hashlock,
                                            proof=()))
        self._paid(order.src_chain, handle.created, "fill")
        return handle

    async def fund_dst(self, signed: SignedOrder, src: EscrowHandle) -> EscrowHandle:
        """The destination escrow an honest resolver creates for ``src``."""
        chain = signed.order.dst_chain
        handle = await self.wallet(chain).create_dst(dst_terms(signed, src))
        self._paid(chain, handle.created, "create_dst")
        return handle

    # -- springing it -----------------------------------------------------------------

    async def secret(self, order_hash: str) -> bytes | None:
        """The order's first secret if the relayer has released it."""
        try:
            secrets = await self._client.secrets(order_hash)
        except RelayerError:
            return None  # the relayer restarting: ask again
        return secrets.get(0)

    async def play_out(self, order_hashes: list[str], sources: list[EscrowHandle],
                       destinations: list[EscrowHandle]) -> Outcome:
        """Until the first source escrow's cancellation, wait for a secret of
        ``order_hashes``; with it, withdraw every one of ``sources``. Then cancel the
        destination escrows and whatever source escrow is left, each once it may."""
        outcome = Outcome()
        cancel_at = min(stage_start(s.immutables.timelocks, Stage.SRC_CANCELLATION)
                        for s in sources)
        while outcome.secret is None:
            for order_hash in order_hashes:
                outcome.secret = outcome.secret or await self.secret(order_hash)
            if outcome.secret is not None or await self.cardano.chain_time() >= cancel_at:
                break
            await asyncio.sleep(POLL_SECONDS)
        if outcome.secret is not None:
            secret = outcome.secret
            log.warning("attacker_has_the_secret", attacker=self.name)
            for src in sources:
                opens = stage_start(src.immutables.timelocks, Stage.SRC_WITHDRAWAL)

                def withdraw(src: EscrowHandle = src) -> Awaitable[Sent]:
                    return self.wallet(src.chain).withdraw(src, secret)

                self._paid(src.chain, await self._when_open(src.chain, opens, withdraw),
                           "withdraw_src")
                outcome.withdrawn.append(src.escrow)
        left = [s for s in sources if s.escrow not in outcome.withdrawn]
        await asyncio.gather(*(self._cancel(e, outcome) for e in (*destinations, *left)))
        return outcome

    async def _cancel(self, escrow: EscrowHandle, outcome: Outcome) -> None:
        stage = (Stage.SRC_CANCELLATION if escrow.role is EscrowRole.SRC
                 else Stage.DST_CANCELLATION)
        opens = stage_start(escrow.immutables.timelocks, stage)
        sent = await self._when_open(escrow.chain, opens,
                                     lambda: self.wallet(escrow.chain).cancel(escrow))
        self._paid(escrow.chain, sent, f"cancel_{escrow.role}")
        outcome.cancelled.append(escrow.escrow)

    async def _when_open(self, chain: str, opens: int,
                         action: Callable[[], Awaitable[T]]) -> T:
        """``action`` once ``chain``'s time reaches ``opens``, retried while the chain
        still says the window is not open."""
        wallet = self.wallet(chain)
        while await wallet.chain_time() < opens:
            await asyncio.sleep(POLL_SECONDS)
        deadline = time.monotonic() + WINDOW_GRACE_SECONDS
        while True:
            try:
                return await action()
            except WalletError as exc:
                if exc.code != WINDOW_NOT_OPEN or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(POLL_SECONDS)

    async def close(self) -> None:
        await self.ethereum.close()
        await self.cardano.close()
        await self._client.close()
