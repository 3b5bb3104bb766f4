// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The Merkle tree of secret hashes for orders filled in parts (docs/protocol.md).
library MerkleSecretsLib {
    /// @return Leaf `index`: keccak256(uint64(index) || secretHash).
    function leaf(uint256 index, bytes32 secretHash) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(uint64(index), secretHash));
    }

    /// @dev Commutative pair hash: the smaller node first, like OpenZeppelin's MerkleProof.
    function verify(bytes32 root, uint256 index, bytes32 secretHash, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (index > type(uint64).max) return false;
        bytes32 node = leaf(index, secretHash);
        for (uint256 i = 0; i < proof.length; i++) {
            bytes32 sibling = proof[i];
            node = node <= sibling
                ? keccak256(abi.encodePacked(node, sibling))
                : keccak256(abi.encodePacked(sibling, node));
        }
        return node == root;
    }

    /// @return The secret index a fill of `amount` uses after `filledBefore` of `total` were
    /// filled: (filledBefore + amount - 1) * parts / total, or `parts` for the completing fill.
    function secretIndex(uint256 filledBefore, uint256 amount, uint256 total, uint256 parts)
        internal
        pure
        returns (uint256)
    {
        if (filledBefore + amount == total) return parts;
        return (filledBefore + amount - 1) * parts / total;
    }
}
