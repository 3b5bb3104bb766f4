"""Orders: the model, its wire form, signature checks, validation and lifecycle."""
