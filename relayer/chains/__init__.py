"""The chains the relayer knows: their ids, address and asset formats, and monitors."""
