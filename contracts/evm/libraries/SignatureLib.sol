// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Canonical 65-byte secp256k1 signatures (r || s || v), the rule of docs/protocol.md.
library SignatureLib {
    uint256 private constant _HALF_N =
        0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @return signer The recovered address, or address(0) if the signature is malformed:
    /// not 65 bytes, v not in {27, 28} (or {0, 1}), s in the upper half, or unrecoverable.
    function recover(bytes32 digest, bytes calldata signature)
        internal
        pure
        returns (address signer)
    {
        if (signature.length != 65) return address(0);
        bytes32 r = bytes32(signature[0:32]);
        bytes32 s = bytes32(signature[32:64]);
        uint8 v = uint8(signature[64]);
        if (v < 27) v += 27;
        if ((v != 27 && v != 28) || uint256(s) > _HALF_N) return address(0);
        signer = ecrecover(digest, v, r, s);
    }
}
