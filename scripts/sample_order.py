#!/usr/bin/env python3
"""Make a signed sample order (its secret, or its cancellation) for the local devnet.

    sample_order.py order  [--relayer URL] [--direction eth-to-ada|ada-to-eth] [--amount N]
    sample_order.py secret ORDER_HASH [--idx N]
    sample_order.py cancel ORDER_HASH [--direction ...]

``order`` asks the relayer for a quote, takes the recommended preset, makes a
fresh secret, signs with the devnet maker key and prints the JSON body for
``POST /api/orders``. The secret goes to ``.devnet/secrets/<order hash>.json``,
never to the terminal. ``secret`` prints the body for ``POST
/api/orders/{hash}/secrets`` from that file: what the maker sends once the relayer
says its fill is ready. ``cancel`` prints the body for ``DELETE /api/orders/{hash}``.
The devnet keys below are public test keys: never use them with real funds.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
from pathlib import Path

import httpx
import msgspec
from pycardano import Address, Network, PaymentSigningKey

from relayer.config import load_settings
from relayer.orders.signer import (
    cancel_digest_of,
    make_secrets,
    order_digest_of,
    sign_cardano,
    sign_evm,
)
from relayer.orders.validation import OrderValidator
from relayer.orders.wire import (
    AuctionWire,
    OrderSubmissionWire,
    OrderWire,
    TimelocksWire,
    UtxoRefWire,
)
from relayer.signing.secp256k1 import private_key_address

# anvil's development account 1 and a fixed devnet Cardano key: public, test only
EVM_MAKER_KEY = bytes.fromhex("59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d")
CARDANO_MAKER_KEY = PaymentSigningKey(bytes.fromhex("11" * 32))
SECRETS_DIR = Path(".devnet/secrets")


def validator_for(config: str | None) -> OrderValidator:
    return OrderValidator.from_settings(load_settings(config))


def evm_maker() -> str:
    return "0x" + private_key_address(EVM_MAKER_KEY).hex()


def cardano_maker() -> str:
    return str(Address(CARDANO_MAKER_KEY.to_verification_key().hash(), network=Network.TESTNET))


def make_order(args: argparse.Namespace) -> int:
    eth_to_ada = args.direction == "eth-to-ada"
    src, dst = ("ethereum", "cardano") if eth_to_ada else ("cardano", "ethereum")
    src_token, dst_token = ("TUSD", "ADA") if eth_to_ada else ("ADA", "TUSD")
    quote = httpx.get(f"{args.relayer}/api/quote", params={
        "src_chain": src, "dst_chain": dst, "src_token": src_token, "dst_token": dst_token,
        "amount": args.amount}, timeout=10)
    if quote.status_code != 200:
        print(f"quote failed: {quote.text}", file=sys.stderr)
        return 1
    q = quote.json()
    preset = q["presets"][q["recommended_preset"]]
    secret_set = make_secrets(1)
    order = OrderWire(
        salt=str(secrets.randbits(64)), src_chain=src, dst_chain=dst,
        maker=evm_maker() if eth_to_ada else cardano_maker(),
        receiver=cardano_maker() if eth_to_ada else evm_maker(),
        maker_asset=q["src_token"], taker_asset=q["dst_token"],
        making_amount=q["making_amount"], taking_amount=preset["taking_amount"],
        auction=msgspec.convert(preset["auction"], AuctionWire),
        hashlock="0x" + secret_set.hashlock.hex(), parts=1,
        timelocks=msgspec.convert(preset["timelocks"], TimelocksWire),
        src_safety_deposit=preset["src_safety_deposit"],
        dst_safety_deposit=preset["dst_safety_deposit"], deadline=preset["deadline"],
    )
    validator = validator_for(args.config)
    digest = order_digest_of(validator, order)
    signature = (sign_evm(digest, EVM_MAKER_KEY) if eth_to_ada
                 else sign_cardano(digest, CARDANO_MAKER_KEY))
    body = OrderSubmissionWire(
        order=order, secret_hashes=["0x" + h.hex() for h in secret_set.hashes],
        signature=signature,
        # Until the Cardano escrow issue lands, this names a placeholder output.
        src_order_utxo=None if eth_to_ada else UtxoRefWire(tx_id="00" * 32, index=0),
    )
    order_hash = "0x" + digest.hex()
    SECRETS_DIR.mkdir(parents=True, exist_ok=True)
    secret_file = SECRETS_DIR / f"{order_hash}.json"
    secret_file.write_text(json.dumps({"order_hash": order_hash,
                                       "secrets": ["0x" + s.hex() for s in secret_set.secrets]}))
    secret_file.chmod(0o600)
    print(msgspec.json.encode(body).decode())
    print(f"order hash {order_hash}; secret saved to {secret_file}", file=sys.stderr)
    return 0


def make_secret(args: argparse.Namespace) -> int:
    secret_file = SECRETS_DIR / f"{args.order_hash}.json"
    try:
        saved = json.loads(secret_file.read_text())
    except FileNotFoundError:
        print(f"no secret saved for {args.order_hash} in {SECRETS_DIR}", file=sys.stderr)
        return 1
    print(json.dumps({"idx": args.idx, "secret": saved["secrets"][args.idx]}))
    return 0


def make_cancel(args: argparse.Namespace) -> int:
    digest = cancel_digest_of(validator_for(args.config), args.order_hash)
    signature = (sign_evm(digest, EVM_MAKER_KEY) if args.direction == "eth-to-ada"
                 else sign_cardano(digest, CARDANO_MAKER_KEY))
    print(msgspec.json.encode({"signature": signature}).decode())
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="the relayer's TOML config, if not the defaults")
    parser.add_argument("--direction", choices=["eth-to-ada", "ada-to-eth"],
                        default="eth-to-ada", help="which chain the maker pays on")
    commands = parser.add_subparsers(dest="command", required=True)
    order = commands.add_parser("order", help="a signed order from the recommended preset")
    order.add_argument("--relayer", default="http://127.0.0.1:8080", help="the relayer's URL")
    order.add_argument("--amount", default="100000000", help="making amount in base units")
    secret = commands.add_parser("secret", help="the body that posts an order's saved secret")
    secret.add_argument("order_hash", help="the order's hash (0x...)")
    secret.add_argument("--idx", type=int, default=0, help="the fill's secret index")
    cancel = commands.add_parser("cancel", help="a maker-signed cancellation")
    cancel.add_argument("order_hash", help="the order's hash (0x...)")
    args = parser.parse_args()
    run = {"order": make_order, "secret": make_secret, "cancel": make_cancel}[args.command]
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
