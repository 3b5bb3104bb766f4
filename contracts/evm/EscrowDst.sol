// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {BaseEscrow} from "./BaseEscrow.sol";
import {TimelocksLib} from "./libraries/TimelocksLib.sol";

/// @notice Holds the resolver's tokens (or ETH) on the destination chain. With the secret they
/// go to the maker (immutables.maker = the order's receiver); after cancellation back to the
/// taker. The safety deposit goes to whoever performs the action.
///
/// Windows (stage times are deployedAt + offset):
///   withdraw       taker   [DstWithdrawal, DstCancellation)
///   publicWithdraw anyone  [DstPublicWithdrawal, DstCancellation)
///   cancel         taker   [DstCancellation, ...)
/// There is no public cancel on the destination (as in 1inch): only the taker gets its funds
/// back, and nobody else has a reason to hurry it.
contract EscrowDst is BaseEscrow {
    using TimelocksLib for uint256;

    constructor(uint32 rescueDelay) BaseEscrow(rescueDelay) {}

    function withdraw(bytes32 secret, Immutables calldata immutables)
        external
        onlyValidImmutables(immutables)
        onlyTaker(immutables)
        onlyAfter(immutables.timelocks.get(TimelocksLib.Stage.DstWithdrawal))
        onlyBefore(immutables.timelocks.get(TimelocksLib.Stage.DstCancellation))
    {
        _withdraw(secret, immutables);
    }

    function publicWithdraw(bytes32 secret, Immutables calldata immutables)
        external
        onlyValidImmutables(immutables)
        onlyAfter(immutables.timelocks.get(TimelocksLib.Stage.DstPublicWithdrawal))
        onlyBefore(immutables.timelocks.get(TimelocksLib.Stage.DstCancellation))
    {
        _withdraw(secret, immutables);
    }

    function cancel(Immutables calldata immutables)
        external
        onlyValidImmutables(immutables)
        onlyTaker(immutables)
        onlyAfter(immutables.timelocks.get(TimelocksLib.Stage.DstCancellation))
    {
        _uniTransfer(_address(immutables.token), _address(immutables.taker), immutables.amount);
        _sendNative(msg.sender, immutables.safetyDeposit);
        emit EscrowCancelled();
    }

    function _withdraw(bytes32 secret, Immutables calldata immutables)
        private
        onlyValidSecret(secret, immutables)
    {
        _uniTransfer(_address(immutables.token), _address(immutables.maker), immutables.amount);
        _sendNative(msg.sender, immutables.safetyDeposit);
        emit EscrowWithdrawal(secret);
    }
}
