"""``relayer keys create``: a new API key, shown once, and the line that stores its digest
(printed, or appended to ``security.api_keys_file`` with ``--write``)."""

from __future__ import annotations

import sys
from collections.abc import Mapping

from relayer.config import load_settings
from relayer.errors import ConfigError
from relayer.security.keys import append_key_line, generate_key, parse_scopes


def create_key(*, scopes: str, signing: bool, note: str, write: bool = False,
               config: str | None = None, environ: Mapping[str, str] | None = None) -> int:
    try:
        parsed = parse_scopes(scopes)
        keys_file = ""
        if write:
            keys_file = load_settings(config, environ=environ).security.api_keys_file
            if not keys_file:
                raise ConfigError("--write needs security.api_keys_file (in the --config file "
                                  "or RELAYER_SECURITY_API_KEYS_FILE)")
        new = generate_key(parsed, signing=signing, note=note)
        if write:
            append_key_line(keys_file, new.stored)
    except ConfigError as exc:
        print(f"relayer: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"relayer: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"api key (shown once; give it to the resolver): {new.api_key}")
    if write:
        print(f"key {new.stored.key_id} appended to {keys_file} (mode 0600); "
              "POST /api/admin/keys/reload or a restart puts it in force")
        return 0
    print("append this line to the file named by security.api_keys_file "
          "(or run with --write):")
    print(new.stored.to_line())
    return 0
