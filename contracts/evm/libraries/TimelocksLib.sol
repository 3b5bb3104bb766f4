// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Packed timelocks: stage i's offset in bits [32 i, 32 i + 32), deployedAt in 224..255.
library TimelocksLib {
    enum Stage {
        SrcWithdrawal,
        SrcPublicWithdrawal,
        SrcCancellation,
        SrcPublicCancellation,
        DstWithdrawal,
        DstPublicWithdrawal,
        DstCancellation
    }

    uint256 private constant _DEPLOYED_AT_SHIFT = 224;
    uint256 private constant _DEPLOYED_AT_MASK = uint256(type(uint32).max) << _DEPLOYED_AT_SHIFT;

    function setDeployedAt(uint256 timelocks, uint256 value) internal pure returns (uint256) {
        return (timelocks & ~_DEPLOYED_AT_MASK) | (uint256(uint32(value)) << _DEPLOYED_AT_SHIFT);
    }

    function deployedAt(uint256 timelocks) internal pure returns (uint256) {
        return timelocks >> _DEPLOYED_AT_SHIFT;
    }

    /// @return The unix time at which `stage` begins.
    function get(uint256 timelocks, Stage stage) internal pure returns (uint256) {
        return deployedAt(timelocks) + uint32(timelocks >> (uint256(stage) * 32));
    }

    function rescueStart(uint256 timelocks, uint256 rescueDelay) internal pure returns (uint256) {
        return deployedAt(timelocks) + rescueDelay;
    }
}
