"""The chains and assets this relayer serves, and the parsing of their addresses."""
