"""Orders must end before the escrow factory lets a taker rescue an escrow's funds."""

from __future__ import annotations

import pytest

from relayer.errors import ValidationError
from tests.factories import NOW, default_timelocks, make_settings, make_validator, submission

DAY = 86_400


def test_a_source_that_could_be_rescued_before_its_public_cancellation_is_refused() -> None:
    validator = make_validator(make_settings(**{
        "chains.ethereum.rescue_delay_src_seconds": 10 * DAY}))
    timelocks = default_timelocks()
    timelocks.src_cancellation, timelocks.src_public_cancellation = 9 * DAY, 10 * DAY
    with pytest.raises(ValidationError) as refused:
        validator.accept(submission("eth_to_ada", validator=validator, timelocks=timelocks),
                         now=NOW)
    assert refused.value.details["field"] == "timelocks.src_public_cancellation"
    timelocks.src_public_cancellation = 10 * DAY - 1
    validator.accept(submission("eth_to_ada", validator=validator, timelocks=timelocks),
                     now=NOW)


def test_an_ethereum_destination_must_cancel_before_it_can_be_rescued() -> None:
    validator = make_validator(make_settings(**{
        "chains.ethereum.rescue_delay_dst_seconds": 2 * DAY}))
    timelocks = default_timelocks()
    timelocks.dst_cancellation = 2 * DAY
    with pytest.raises(ValidationError) as refused:
        validator.accept(submission("ada_to_eth", validator=validator, timelocks=timelocks),
                         now=NOW)
    assert refused.value.details["field"] == "timelocks.dst_cancellation"
