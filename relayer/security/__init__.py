"""Who is calling: API keys with scopes, request signing and rate limits."""
