"""Where recipes find data: ``--data-root``, then ``CORPUSKIT_DATA``, then ``../shared/data``."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from corpuskit.errors import DataRootError, InputError

ENV_VAR = "CORPUSKIT_DATA"
DEFAULT_RELATIVE = Path("..") / "shared" / "data"


def find_data_root(explicit: str | Path | None = None, *, required: bool = False) -> Path | None:
    """The data root in priority order; ``None`` (or an error if ``required``) when none exists."""
    candidates: list[tuple[str, Path]] = []
    if explicit:
        candidates.append(("--data-root", Path(explicit)))
    elif os.environ.get(ENV_VAR):
        candidates.append((ENV_VAR, Path(os.environ[ENV_VAR])))
    else:
        candidates.append(("default", Path.cwd() / DEFAULT_RELATIVE))
    origin, path = candidates[0]
    if path.is_dir():
        return path.resolve()
    if required or origin != "default":
        raise DataRootError(f"data root {str(path)!r} (from {origin}) does not exist")
    return None


def resolve_pattern(pattern: str, data_root: Path | None) -> str:
    """Absolute path pattern; relative ones are taken under the data root."""
    expanded = os.path.expanduser(pattern)
    if os.path.isabs(expanded):
        return expanded
    if data_root is None:
        # Say where the default was looked for: it depends on the directory corpuskit runs from.
        default = Path.cwd() / DEFAULT_RELATIVE
        missing = "" if default.is_dir() else f" (the default, {default}, does not exist)"
        raise DataRootError(
            f"path {pattern!r} is relative to the data root, and none was given{missing}"
        )
    return str(data_root / expanded)


def expand_paths(patterns: list[str], data_root: Path | None, *, what: str) -> list[Path]:
    """Files matching the patterns, sorted, deduplicated; a pattern matching nothing is an error."""
    found: list[Path] = []
    for pattern in patterns:
        absolute = resolve_pattern(pattern, data_root)
        matches = sorted(glob.glob(absolute, recursive=True))
        files = [Path(m) for m in matches if Path(m).is_file()]
        if not files:
            raise InputError(
                f"{what}: no file matches {pattern!r} (looked for {absolute})",
                hint="check the path, or the data root (--data-root / CORPUSKIT_DATA)",
            )
        found.extend(files)
    return sorted(dict.fromkeys(found))


def display_path(path: Path, data_root: Path | None) -> str:
    """Path as recorded in ids and manifests: relative to the data root when under it."""
    if data_root is not None:
        try:
            return path.resolve().relative_to(data_root.resolve()).as_posix()
        except ValueError:
            pass
    return path.resolve().as_posix()
