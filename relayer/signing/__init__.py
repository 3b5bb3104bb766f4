"""Hashing and signatures: keccak-256, EIP-712 digests, secp256k1 and CIP-8."""
