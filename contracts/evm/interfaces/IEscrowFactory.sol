// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IBaseEscrow} from "./IBaseEscrow.sol";

/// @notice The escrow factory: source escrows from maker-signed orders, destination escrows
/// from resolvers.
interface IEscrowFactory {
    /// @dev The signed order of docs/protocol.md, field for field.
    struct Order {
        uint256 salt;
        uint256 srcChainId;
        uint256 dstChainId;
        bytes maker;
        bytes receiver;
        bytes makerAsset;
        bytes takerAsset;
        uint256 makingAmount;
        uint256 takingAmount;
        bytes auctionDetails;
        bytes32 hashlock;
        uint256 parts;
        uint256 timelocks;
        uint256 srcSafetyDeposit;
        uint256 dstSafetyDeposit;
        uint256 deadline;
    }

    /// @dev What the resolver fills. For `parts == 1` the secret fields are ignored: the escrow
    /// uses the order's hashlock. For `parts >= 2`, `secretHash` is secret `secretIndex`'s hash
    /// and `proof` its Merkle proof against the order's hashlock.
    struct Fill {
        uint256 makingAmount; // source units taken from the maker in this fill
        uint256 dstAmount; // destination units the resolver commits to deliver for this fill
        uint256 secretIndex;
        bytes32 secretHash;
        bytes32[] proof;
    }

    /// @dev The destination half of a swap, as 1inch emits it. On a Cardano destination
    /// `maker` is uint256(keccak256(receiver)) and `token` is uint256(keccak256(takerAsset)).
    struct DstImmutablesComplement {
        uint256 maker;
        uint256 amount;
        uint256 token;
        uint256 safetyDeposit;
        uint256 chainId;
    }

    event SrcEscrowCreated(
        IBaseEscrow.Immutables srcImmutables, DstImmutablesComplement dstImmutablesComplement
    );
    event DstEscrowCreated(address escrow, bytes32 hashlock, uint256 taker);

    /// The order's srcChainId is not this chain.
    error WrongSourceChain();
    /// Source and destination chain ids are equal.
    error SameChain();
    /// `maker` is not 20 bytes.
    error InvalidMaker();
    /// `makerAsset` is not the 20 bytes of a token (native ETH cannot be a source asset).
    error InvalidMakerAsset();
    /// `receiver` or `takerAsset` of an EVM destination is not 20 bytes.
    error InvalidDestinationAddress();
    /// `parts` is 0 or `makingAmount` is 0.
    error InvalidOrderAmounts();
    /// The signature is not 65 bytes, has v not in {27, 28}, a high s, or recovers nothing.
    error MalformedSignature();
    /// The signature is valid but its signer is not the order's maker.
    error SignerNotMaker();
    /// block.timestamp >= deadline.
    error OrderExpired();
    /// The fill's making amount is zero.
    error InvalidFillAmount();
    /// The fill takes more than what remains of the order.
    error Overfill(uint256 remaining);
    /// A single-part order must be filled whole, at once.
    error FullFillRequired();
    /// The fill's secret index is not the one the Merkle-of-secrets rule gives.
    error InvalidSecretIndex(uint256 expected);
    /// The fill would use the same secret as the previous fill of the order.
    error SecretIndexReused();
    /// The Merkle proof does not lead from the secret's leaf to the order's hashlock.
    error InvalidMerkleProof();
    /// The destination amount is below what the auction requires now.
    error DstAmountTooLow(uint256 required);
    /// msg.value is not what the escrow needs.
    error InvalidMsgValue(uint256 expected);
    /// The destination escrow would cancel after the source escrow.
    error DstCancellationTooLate();
    /// CREATE2 failed (an escrow with these immutables exists already).
    error EscrowDeploymentFailed();

    function createSrcEscrow(Order calldata order, bytes calldata signature, Fill calldata fill)
        external
        payable
        returns (address escrow);

    function createDstEscrow(
        IBaseEscrow.Immutables calldata dstImmutables,
        uint256 srcCancellationTimestamp
    ) external payable returns (address escrow);

    function addressOfEscrowSrc(IBaseEscrow.Immutables calldata immutables)
        external
        view
        returns (address);

    function addressOfEscrowDst(IBaseEscrow.Immutables calldata immutables)
        external
        view
        returns (address);
}
