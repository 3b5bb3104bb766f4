// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {EscrowDst} from "./EscrowDst.sol";
import {EscrowSrc} from "./EscrowSrc.sol";
import {IBaseEscrow} from "./interfaces/IBaseEscrow.sol";
import {IEscrowFactory} from "./interfaces/IEscrowFactory.sol";
import {AuctionCurveLib} from "./libraries/AuctionCurveLib.sol";
import {ImmutablesLib} from "./libraries/ImmutablesLib.sol";
import {MerkleSecretsLib} from "./libraries/MerkleSecretsLib.sol";
import {ProxyLib} from "./libraries/ProxyLib.sol";
import {SignatureLib} from "./libraries/SignatureLib.sol";
import {TimelocksLib} from "./libraries/TimelocksLib.sol";
import {TokenTransferLib} from "./libraries/TokenTransferLib.sol";

/// @notice Creates source escrows from maker-signed orders (docs/protocol.md) and destination
/// escrows from resolvers, as EIP-1167 clones at CREATE2 addresses derived from the hash of
/// their immutables.
contract EscrowFactory is IEscrowFactory {
    using ImmutablesLib for IBaseEscrow.Immutables;
    using TimelocksLib for uint256;

    bytes32 public constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    bytes32 public constant ORDER_TYPEHASH = keccak256(
        "Order(uint256 salt,uint256 srcChainId,uint256 dstChainId,bytes maker,bytes receiver,"
        "bytes makerAsset,bytes takerAsset,uint256 makingAmount,uint256 takingAmount,"
        "bytes auctionDetails,bytes32 hashlock,uint256 parts,uint256 timelocks,"
        "uint256 srcSafetyDeposit,uint256 dstSafetyDeposit,uint256 deadline)"
    );
    /// Chain ids from 2**64 up name non-EVM chains (Cardano is 2**64 + network magic).
    uint256 public constant NON_EVM_CHAIN_ID_MIN = 1 << 64;

    address public immutable ESCROW_SRC_IMPLEMENTATION;
    address public immutable ESCROW_DST_IMPLEMENTATION;
    bytes32 private immutable _SRC_PROXY_BYTECODE_HASH;
    bytes32 private immutable _DST_PROXY_BYTECODE_HASH;

    /// Making units filled so far, per order hash.
    mapping(bytes32 orderHash => uint256 filled) public filledAmount;

    constructor(uint32 rescueDelaySrc, uint32 rescueDelayDst) {
        ESCROW_SRC_IMPLEMENTATION = address(new EscrowSrc(rescueDelaySrc));
        ESCROW_DST_IMPLEMENTATION = address(new EscrowDst(rescueDelayDst));
        _SRC_PROXY_BYTECODE_HASH = ProxyLib.bytecodeHash(ESCROW_SRC_IMPLEMENTATION);
        _DST_PROXY_BYTECODE_HASH = ProxyLib.bytecodeHash(ESCROW_DST_IMPLEMENTATION);
    }

    // ---------------------------------------------------------------- source escrows

    /// @notice Fill `fill.makingAmount` of a maker-signed order: the caller becomes the taker,
    /// pays the source safety deposit as msg.value, and commits to deliver `fill.dstAmount` on
    /// the destination chain, which may not be below the auction's price for this fill at
    /// block.timestamp and block.basefee. The maker's tokens move into the new escrow.
    function createSrcEscrow(Order calldata order, bytes calldata signature, Fill calldata fill)
        external
        payable
        returns (address escrow)
    {
        bytes32 orderHash = hashOrder(order);
        address maker = _checkOrder(order, orderHash, signature);
        bytes32 hashlock = _takeFill(order, orderHash, fill);
        uint256 required = AuctionCurveLib.fillTakingAmount(
            order.takingAmount,
            order.makingAmount,
            fill.makingAmount,
            order.auctionDetails,
            block.timestamp,
            block.basefee
        );
        if (fill.dstAmount < required) revert DstAmountTooLow(required);
        if (msg.value != order.srcSafetyDeposit) revert InvalidMsgValue(order.srcSafetyDeposit);

        IBaseEscrow.Immutables memory immutables = IBaseEscrow.Immutables({
            orderHash: orderHash,
            hashlock: hashlock,
            maker: uint256(uint160(maker)),
            taker: uint256(uint160(msg.sender)),
            token: uint256(uint160(bytes20(order.makerAsset))),
            amount: fill.makingAmount,
            safetyDeposit: order.srcSafetyDeposit,
            timelocks: order.timelocks.setDeployedAt(block.timestamp)
        });
        escrow = ProxyLib.deploy(ESCROW_SRC_IMPLEMENTATION, immutables.hashMem(), msg.value);
        if (escrow == address(0)) revert EscrowDeploymentFailed();
        TokenTransferLib.safeTransferFrom(
            address(uint160(immutables.token)), maker, escrow, fill.makingAmount
        );
        emit SrcEscrowCreated(immutables, _complement(order, fill.dstAmount));
    }

    /// @return The EIP-712 digest of `order` under this factory's domain: the order hash.
    function hashOrder(Order calldata order) public view returns (bytes32) {
        bytes memory head = abi.encode(
            ORDER_TYPEHASH,
            order.salt,
            order.srcChainId,
            order.dstChainId,
            keccak256(order.maker),
            keccak256(order.receiver),
            keccak256(order.makerAsset),
            keccak256(order.takerAsset),
            order.makingAmount
        );
        bytes memory tail = abi.encode(
            order.takingAmount,
            keccak256(order.auctionDetails),
            order.hashlock,
            order.parts,
            order.timelocks,
            order.srcSafetyDeposit,
            order.dstSafetyDeposit,
            order.deadline
        );
        bytes32 structHash = keccak256(bytes.concat(head, tail));
        return keccak256(abi.encodePacked(hex"1901", domainSeparator(), structHash));
    }

    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH,
                keccak256("RelayerEscrowFactory"),
                keccak256("1"),
                block.chainid,
                address(this)
            )
        );
    }

    /// @notice The auction's price for a fill at `time` and `baseFee` (wei): what
    /// createSrcEscrow requires as the fill's dstAmount when its block has that time and fee.
    function fillTakingAmount(
        bytes calldata auctionDetails,
        uint256 minTakingAmount,
        uint256 makingAmount,
        uint256 fillMakingAmount,
        uint256 time,
        uint256 baseFee
    ) external pure returns (uint256) {
        return AuctionCurveLib.fillTakingAmount(
            minTakingAmount, makingAmount, fillMakingAmount, auctionDetails, time, baseFee
        );
    }

    function _checkOrder(Order calldata order, bytes32 orderHash, bytes calldata signature)
        private
        view
        returns (address maker)
    {
        if (order.srcChainId != block.chainid) revert WrongSourceChain();
        if (order.dstChainId == order.srcChainId) revert SameChain();
        if (order.maker.length != 20) revert InvalidMaker();
        if (order.makerAsset.length != 20 || bytes20(order.makerAsset) == bytes20(0)) {
            revert InvalidMakerAsset();
        }
        if (
            order.dstChainId < NON_EVM_CHAIN_ID_MIN
                && (order.receiver.length != 20 || order.takerAsset.length != 20)
        ) revert InvalidDestinationAddress();
        if (order.parts == 0 || order.makingAmount == 0) revert InvalidOrderAmounts();
        maker = address(bytes20(order.maker));
        address signer = SignatureLib.recover(orderHash, signature);
        if (signer == address(0)) revert MalformedSignature();
        if (signer != maker) revert SignerNotMaker();
        if (block.timestamp >= order.deadline) revert OrderExpired();
    }

    /// @dev Records the fill and returns the escrow's hashlock under the Merkle-of-secrets rule.
    function _takeFill(Order calldata order, bytes32 orderHash, Fill calldata fill)
        private
        returns (bytes32)
    {
        uint256 filled = filledAmount[orderHash];
        if (fill.makingAmount == 0) revert InvalidFillAmount();
        if (fill.makingAmount > order.makingAmount - filled) {
            revert Overfill(order.makingAmount - filled);
        }
        filledAmount[orderHash] = filled + fill.makingAmount;
        if (order.parts == 1) {
            if (fill.makingAmount != order.makingAmount) revert FullFillRequired();
            return order.hashlock;
        }
        uint256 expected = MerkleSecretsLib.secretIndex(
            filled, fill.makingAmount, order.makingAmount, order.parts
        );
        if (fill.secretIndex != expected) revert InvalidSecretIndex(expected);
        // The previous fill ended at `filled` and used index (filled - 1) * parts / total; a
        // secret serves one fill only, since its first withdrawal makes it public.
        if (
            filled != 0
                && expected
                    == MerkleSecretsLib.secretIndex(0, filled, order.makingAmount, order.parts)
        ) revert SecretIndexReused();
        if (!MerkleSecretsLib.verify(order.hashlock, expected, fill.secretHash, fill.proof)) {
            revert InvalidMerkleProof();
        }
        return fill.secretHash;
    }

    function _complement(Order calldata order, uint256 dstAmount)
        private
        pure
        returns (DstImmutablesComplement memory)
    {
        return DstImmutablesComplement({
            maker: _packDestinationBytes(order.dstChainId, order.receiver),
            amount: dstAmount,
            token: _packDestinationBytes(order.dstChainId, order.takerAsset),
            safetyDeposit: order.dstSafetyDeposit,
            chainId: order.dstChainId
        });
    }

    /// @dev EVM destinations: the 20 address bytes as uint256. Non-EVM (Cardano) destinations
    /// do not fit a uint256, so they carry uint256(keccak256(bytes)).
    function _packDestinationBytes(uint256 chainId, bytes calldata value)
        private
        pure
        returns (uint256)
    {
        if (chainId < NON_EVM_CHAIN_ID_MIN) return uint256(uint160(bytes20(value)));
        return uint256(keccak256(value));
    }

    // ----------------------------------------------------------- destination escrows

    /// @notice Lock the resolver's funds for the maker on this (destination) chain. ERC-20 is
    /// pulled from the caller (approve the factory first); for token address(0) the amount
    /// comes as ETH. msg.value is the safety deposit (+ the amount for ETH). deployedAt is set
    /// to block.timestamp; the escrow may not cancel after `srcCancellationTimestamp`.
    function createDstEscrow(
        IBaseEscrow.Immutables calldata dstImmutables,
        uint256 srcCancellationTimestamp
    ) external payable returns (address escrow) {
        address token = address(uint160(dstImmutables.token));
        uint256 nativeAmount = dstImmutables.safetyDeposit;
        if (token == address(0)) nativeAmount += dstImmutables.amount;
        if (msg.value != nativeAmount) revert InvalidMsgValue(nativeAmount);

        IBaseEscrow.Immutables memory immutables = dstImmutables;
        immutables.timelocks = dstImmutables.timelocks.setDeployedAt(block.timestamp);
        if (immutables.timelocks.get(TimelocksLib.Stage.DstCancellation) > srcCancellationTimestamp)
        {
            revert DstCancellationTooLate();
        }
        escrow = ProxyLib.deploy(ESCROW_DST_IMPLEMENTATION, immutables.hashMem(), msg.value);
        if (escrow == address(0)) revert EscrowDeploymentFailed();
        if (token != address(0)) {
            TokenTransferLib.safeTransferFrom(token, msg.sender, escrow, dstImmutables.amount);
        }
        emit DstEscrowCreated(escrow, dstImmutables.hashlock, dstImmutables.taker);
    }

    // ---------------------------------------------------------------------- addresses

    /// @param immutables With deployedAt set in their timelocks.
    function addressOfEscrowSrc(IBaseEscrow.Immutables calldata immutables)
        external
        view
        returns (address)
    {
        return ProxyLib.computeAddress(immutables.hash(), _SRC_PROXY_BYTECODE_HASH, address(this));
    }

    /// @param immutables With deployedAt set in their timelocks.
    function addressOfEscrowDst(IBaseEscrow.Immutables calldata immutables)
        external
        view
        returns (address)
    {
        return ProxyLib.computeAddress(immutables.hash(), _DST_PROXY_BYTECODE_HASH, address(this));
    }
}
