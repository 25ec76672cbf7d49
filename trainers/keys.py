"""Short content keys for run directories and evaluation caches.

A key is 12 hex of sha256 over canonical JSON. Fields added after keys were published join a key
only away from their default, so every run directory, cache entry and leaderboard key made before
the field existed keeps its key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Mapping
from typing import Any


def short_key(payload: Any) -> str:
    """12 hex of sha256 over the canonical (sorted, compact) JSON of ``payload``."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def keyed_fields(
    fields: Mapping[str, Any], excluded: Collection[str], added_later: Mapping[str, Any]
) -> dict[str, Any]:
    """``fields`` less the ``excluded`` ones and those of ``added_later`` at their default."""
    return {
        k: v
        for k, v in fields.items()
        if k not in excluded and (k not in added_later or added_later[k] != v)
    }
