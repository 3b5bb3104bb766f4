"""``relayer keys create``: a new API key, shown once, and the line that stores its digest."""

from __future__ import annotations

import sys

from relayer.errors import ConfigError
from relayer.security.keys import generate_key, parse_scopes


def create_key(*, scopes: str, signing: bool, note: str) -> int:
    try:
        parsed = parse_scopes(scopes)
    except ConfigError as exc:
        print(f"relayer: {exc.message}", file=sys.stderr)
        return 2
    new = generate_key(parsed, signing=signing, note=note)
    print(f"api key (shown once; give it to the resolver): {new.api_key}")
    print("append this line to the file named by security.api_keys_file:")
    print(new.stored.to_line())
    return 0
