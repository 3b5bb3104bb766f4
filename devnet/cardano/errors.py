"""Errors of the simulator, each carrying the Ogmios JSON-RPC error code it maps to."""

from __future__ import annotations

from typing import Any


class OgmiosError(Exception):
    """An error answered to the client as a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


class InvalidParams(OgmiosError):
    def __init__(self, message: str) -> None:
        super().__init__(-32602, message)


class SubmissionError(OgmiosError):
    """A transaction rejected by the ledger rules (codes 3xxx)."""


class ScriptFailure(Exception):
    """A Plutus script failed in phase 2."""

    def __init__(self, purpose: str, index: int, message: str, traces: list[str]) -> None:
        super().__init__(message)
        self.purpose = purpose
        self.index = index
        self.message = message
        self.traces = traces

    def validator(self) -> dict[str, Any]:
        return {"purpose": self.purpose, "index": self.index}


# Ogmios v6 submission error codes used by the ledger.
INVALID_SIGNATORIES = 3100
MISSING_SIGNATORIES = 3101
MISSING_SCRIPTS = 3102
EXTRANEOUS_SCRIPTS = 3104
MISSING_REDEEMERS = 3109
EXTRANEOUS_REDEEMERS = 3110
MISSING_DATUMS = 3111
EXTRANEOUS_DATUMS = 3112
SCRIPT_INTEGRITY_MISMATCH = 3113
UNKNOWN_OUTPUT_REFERENCE = 3117
OUTSIDE_VALIDITY_INTERVAL = 3118
TRANSACTION_TOO_LARGE = 3119
VALUE_TOO_LARGE = 3120
EMPTY_INPUTS = 3121
FEE_TOO_SMALL = 3122
VALUE_NOT_CONSERVED = 3123
NETWORK_MISMATCH = 3124
INSUFFICIENTLY_FUNDED_OUTPUTS = 3125
INSUFFICIENT_COLLATERAL = 3128
COLLATERAL_LOCKED_BY_SCRIPT = 3129
UNFORESEEABLE_SLOT = 3130
TOO_MANY_COLLATERAL_INPUTS = 3131
MISSING_COLLATERAL_INPUTS = 3132
NON_ADA_COLLATERAL = 3133
EXECUTION_UNITS_TOO_LARGE = 3134
TOTAL_COLLATERAL_MISMATCH = 3135
SPENDS_MISMATCH = 3136
SCRIPT_EXECUTION_FAILURE = 3010
DESERIALISATION_FAILURE = -32602
