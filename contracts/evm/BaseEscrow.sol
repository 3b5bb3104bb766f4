// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBaseEscrow} from "./interfaces/IBaseEscrow.sol";
import {ImmutablesLib} from "./libraries/ImmutablesLib.sol";
import {ProxyLib} from "./libraries/ProxyLib.sol";
import {TimelocksLib} from "./libraries/TimelocksLib.sol";
import {TokenTransferLib} from "./libraries/TokenTransferLib.sol";

/// @notice What both escrows share. An escrow is an EIP-1167 clone made by the factory with
/// CREATE2 and salt keccak256(abi.encode(immutables)); it stores nothing and checks the
/// immutables each call passes by recomputing its own address.
abstract contract BaseEscrow is IBaseEscrow {
    using ImmutablesLib for Immutables;
    using TimelocksLib for uint256;

    /// Seconds after deployment from which the taker may rescue stuck funds.
    uint256 public immutable RESCUE_DELAY;
    address public immutable FACTORY;
    bytes32 public immutable PROXY_BYTECODE_HASH;

    constructor(uint32 rescueDelay) {
        RESCUE_DELAY = rescueDelay;
        FACTORY = msg.sender;
        PROXY_BYTECODE_HASH = ProxyLib.bytecodeHash(address(this));
    }

    modifier onlyValidImmutables(Immutables calldata immutables) {
        _checkImmutables(immutables);
        _;
    }

    modifier onlyTaker(Immutables calldata immutables) {
        if (msg.sender != _address(immutables.taker)) revert InvalidCaller();
        _;
    }

    modifier onlyValidSecret(bytes32 secret, Immutables calldata immutables) {
        if (keccak256(abi.encodePacked(secret)) != immutables.hashlock) revert InvalidSecret();
        _;
    }

    /// Windows are half-open: [start, stop).
    modifier onlyAfter(uint256 start) {
        if (block.timestamp < start) revert TooEarly(start);
        _;
    }

    modifier onlyBefore(uint256 stop) {
        if (block.timestamp >= stop) revert TooLate(stop);
        _;
    }

    /// @notice The taker takes back any token (address(0) = ETH) left here after RESCUE_DELAY.
    function rescueFunds(address token, uint256 amount, Immutables calldata immutables)
        external
        onlyValidImmutables(immutables)
        onlyTaker(immutables)
        onlyAfter(immutables.timelocks.rescueStart(RESCUE_DELAY))
    {
        _uniTransfer(token, msg.sender, amount);
        emit FundsRescued(token, amount);
    }

    function _checkImmutables(Immutables calldata immutables) internal view {
        address expected =
            ProxyLib.computeAddress(immutables.hash(), PROXY_BYTECODE_HASH, FACTORY);
        if (expected != address(this)) revert InvalidImmutables();
    }

    /// @dev Immutables pack addresses into uint256 (the 1inch `Address` type).
    function _address(uint256 packed) internal pure returns (address) {
        return address(uint160(packed));
    }

    function _uniTransfer(address token, address to, uint256 amount) internal {
        if (token == address(0)) {
            _sendNative(to, amount);
        } else {
            TokenTransferLib.safeTransfer(token, to, amount);
        }
    }

    function _sendNative(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert NativeTransferFailed();
    }
}
