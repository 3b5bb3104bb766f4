// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice EIP-1167 minimal proxies deployed with CREATE2.
library ProxyLib {
    /// @return The keccak256 of the 55-byte EIP-1167 creation code for `implementation`.
    function bytecodeHash(address implementation) internal pure returns (bytes32) {
        return keccak256(creationCode(implementation));
    }

    /// @return The 55-byte EIP-1167 creation code: it returns a runtime that delegates every
    /// call to `implementation`.
    function creationCode(address implementation) internal pure returns (bytes memory) {
        return abi.encodePacked(
            hex"3d602d80600a3d3981f3363d3d373d3d3d363d73",
            implementation,
            hex"5af43d82803e903d91602b57fd5bf3"
        );
    }

    function computeAddress(bytes32 salt, bytes32 codeHash, address deployer)
        internal
        pure
        returns (address)
    {
        bytes32 digest = keccak256(abi.encodePacked(bytes1(0xff), deployer, salt, codeHash));
        return address(uint160(uint256(digest)));
    }

    /// @return instance The proxy's address, or address(0) if CREATE2 failed.
    function deploy(address implementation, bytes32 salt, uint256 value)
        internal
        returns (address instance)
    {
        bytes memory code = creationCode(implementation);
        assembly ("memory-safe") {
            instance := create2(value, add(code, 0x20), mload(code), salt)
        }
    }
}
