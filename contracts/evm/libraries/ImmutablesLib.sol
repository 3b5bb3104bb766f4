// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBaseEscrow} from "../interfaces/IBaseEscrow.sol";

/// @notice The escrow's CREATE2 salt is the hash of its ABI-encoded immutables (1inch style).
library ImmutablesLib {
    function hash(IBaseEscrow.Immutables calldata immutables) internal pure returns (bytes32) {
        return keccak256(abi.encode(immutables));
    }

    function hashMem(IBaseEscrow.Immutables memory immutables) internal pure returns (bytes32) {
        return keccak256(abi.encode(immutables));
    }
}
