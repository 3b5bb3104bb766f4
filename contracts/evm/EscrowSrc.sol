// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BaseEscrow} from "./BaseEscrow.sol";
import {TimelocksLib} from "./libraries/TimelocksLib.sol";

/// @notice Holds the maker's tokens on the source chain. With the secret the taker (resolver)
/// receives them; after cancellation they go back to the maker. The safety deposit always goes
/// to whoever performs the action.
///
/// Windows (stage times are deployedAt + offset):
///   withdraw       taker   [SrcWithdrawal, SrcCancellation)
///   publicWithdraw anyone  [SrcPublicWithdrawal, SrcCancellation)
///   cancel         taker   [SrcCancellation, ...)
///   publicCancel   anyone  [SrcPublicCancellation, ...)
contract EscrowSrc is BaseEscrow {
    using TimelocksLib for uint256;

    constructor(uint32 rescueDelay) BaseEscrow(rescueDelay) {}

    function withdraw(bytes32 secret, Immutables calldata immutables)
        external
        onlyValidImmutables(immutables)
        onlyTaker(immutables)
        onlyAfter(immutables.timelocks.get(TimelocksLib.Stage.SrcWithdrawal))
        onlyBefore(immutables.timelocks.get(TimelocksLib.Stage.SrcCancellation))
    {
        _withdraw(secret, immutables);
    }

    function publicWithdraw(bytes32 secret, Immutables calldata immutables)
        external
        onlyValidImmutables(immutables)
        onlyAfter(immutables.timelocks.get(TimelocksLib.Stage.SrcPublicWithdrawal))
        onlyBefore(immutables.timelocks.get(TimelocksLib.Stage.SrcCancellation))
    {
        _withdraw(secret, immutables);
    }

    function cancel(Immutables calldata immutables)
        external
        onlyValidImmutables(immutables)
        onlyTaker(immutables)
        onlyAfter(immutables.timelocks.get(TimelocksLib.Stage.SrcCancellation))
    {
        _cancel(immutables);
    }

    function publicCancel(Immutables calldata immutables)
        external
        onlyValidImmutables(immutables)
        onlyAfter(immutables.timelocks.get(TimelocksLib.Stage.SrcPublicCancellation))
    {
        _cancel(immutables);
    }

    function _withdraw(bytes32 secret, Immutables calldata immutables)
        private
        onlyValidSecret(secret, immutables)
    {
        _uniTransfer(_address(immutables.token), _address(immutables.taker), immutables.amount);
        _sendNative(msg.sender, immutables.safetyDeposit);
        emit EscrowWithdrawal(secret);
    }

    function _cancel(Immutables calldata immutables) private {
        _uniTransfer(_address(immutables.token), _address(immutables.maker), immutables.amount);
        _sendNative(msg.sender, immutables.safetyDeposit);
        emit EscrowCancelled();
    }
}
