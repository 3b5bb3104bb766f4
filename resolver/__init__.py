"""The reference resolver: fills orders it finds profitable, on both chains."""
