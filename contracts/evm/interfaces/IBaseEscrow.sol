// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What the source and destination escrows share: their immutables, events and errors.
/// @dev The layout is the 1inch cross-chain-swap one, with addresses packed into uint256, so a
/// monitor reads these escrows and real 1inch deployments alike.
interface IBaseEscrow {
    struct Immutables {
        bytes32 orderHash;
        bytes32 hashlock; // keccak256(secret)
        uint256 maker; // address packed into uint256
        uint256 taker; // address packed into uint256
        uint256 token; // address packed into uint256; 0 = native ETH (destination only)
        uint256 amount;
        uint256 safetyDeposit; // wei
        uint256 timelocks; // packed offsets, bits 224..255 = deployedAt
    }

    event EscrowWithdrawal(bytes32 secret);
    event EscrowCancelled();
    event FundsRescued(address token, uint256 amount);

    /// The caller is not the one this action is reserved for.
    error InvalidCaller();
    /// The immutables do not hash to this escrow's CREATE2 address.
    error InvalidImmutables();
    /// keccak256(secret) differs from the hashlock.
    error InvalidSecret();
    /// The action's window opens at `opensAt`; the block is earlier.
    error TooEarly(uint256 opensAt);
    /// The action's window closed at `closedAt`; the block is at or after it.
    error TooLate(uint256 closedAt);
    /// Sending ETH failed.
    error NativeTransferFailed();

    function withdraw(bytes32 secret, Immutables calldata immutables) external;
    function publicWithdraw(bytes32 secret, Immutables calldata immutables) external;
    function cancel(Immutables calldata immutables) external;
    function rescueFunds(address token, uint256 amount, Immutables calldata immutables) external;
}
