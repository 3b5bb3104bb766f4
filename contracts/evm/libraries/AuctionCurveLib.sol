// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice The Dutch-auction curve of ARCHITECTURE section 3 over the packed auction details
/// (big-endian: uint24 gasBumpEstimate | uint32 gasPriceEstimate | uint32 startTime
/// | uint24 duration | uint24 initialRateBump | uint8 N | N x (uint24 rateBump, uint16 delay)).
/// Integer for integer the same as relayer/auction/curve.py.
library AuctionCurveLib {
    uint256 internal constant RATE_BUMP_DENOMINATOR = 10_000_000;
    uint256 private constant _GAS_PRICE_UNIT = 1_000_000;
    uint256 private constant _HEADER_LEN = 18;
    uint256 private constant _POINT_LEN = 5;

    /// The packed auction details' length does not match their point count.
    error InvalidAuctionDetails();

    /// @return The rate bump at `time` after the gas adjustment for `baseFee` (wei).
    function rateBump(bytes calldata details, uint256 time, uint256 baseFee)
        internal
        pure
        returns (uint256)
    {
        if (details.length < _HEADER_LEN) revert InvalidAuctionDetails();
        uint256 count = uint8(details[17]);
        if (details.length != _HEADER_LEN + count * _POINT_LEN) revert InvalidAuctionDetails();
        uint256 auction = _auctionBump(details, count, time);
        uint256 gasBumpEstimate = uint24(bytes3(details[0:3]));
        uint256 gasPriceEstimate = uint32(bytes4(details[3:7]));
        uint256 gas = 0;
        if (gasBumpEstimate != 0 && gasPriceEstimate != 0 && baseFee != 0) {
            gas = gasBumpEstimate * baseFee / gasPriceEstimate / _GAS_PRICE_UNIT;
        }
        return auction > gas ? auction - gas : 0;
    }

    /// @return ceil(minTakingAmount * (1e7 + rateBump) / 1e7): the whole order's price.
    function takingAmount(
        uint256 minTakingAmount,
        bytes calldata details,
        uint256 time,
        uint256 baseFee
    ) internal pure returns (uint256) {
        uint256 bump = rateBump(details, time, baseFee);
        return _ceilDiv(minTakingAmount * (RATE_BUMP_DENOMINATOR + bump), RATE_BUMP_DENOMINATOR);
    }

    /// @return ceil(takingAmount(time) * fillMakingAmount / makingAmount).
    function fillTakingAmount(
        uint256 minTakingAmount,
        uint256 makingAmount,
        uint256 fillMakingAmount,
        bytes calldata details,
        uint256 time,
        uint256 baseFee
    ) internal pure returns (uint256) {
        uint256 whole = takingAmount(minTakingAmount, details, time, baseFee);
        return _ceilDiv(whole * fillMakingAmount, makingAmount);
    }

    function _auctionBump(bytes calldata details, uint256 count, uint256 time)
        private
        pure
        returns (uint256)
    {
        uint256 start = uint32(bytes4(details[7:11]));
        uint256 end = start + uint24(bytes3(details[11:14]));
        uint256 pointBump = uint24(bytes3(details[14:17]));
        if (time <= start) return pointBump;
        if (time >= end) return 0;
        uint256 pointTime = start;
        for (uint256 i = 0; i < count; i++) {
            uint256 offset = _HEADER_LEN + i * _POINT_LEN;
            uint256 nextBump = uint24(bytes3(details[offset:offset + 3]));
            uint256 nextTime = pointTime + uint16(bytes2(details[offset + 3:offset + 5]));
            if (time <= nextTime) {
                return ((time - pointTime) * nextBump + (nextTime - time) * pointBump)
                    / (nextTime - pointTime);
            }
            pointTime = nextTime;
            pointBump = nextBump;
        }
        return ((end - time) * pointBump) / (end - pointTime);
    }

    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
