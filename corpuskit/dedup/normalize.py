"""Text normalisation shared by the dedup steps, vectorised over Arrow string columns.

Every dedup key is computed from a normalised form of the text, so that copies differing only in
case, spacing, punctuation or Unicode compatibility forms (full-width letters, ligatures) count as
the same text. Normalisation never changes the stored documents, only the keys.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field

PUNCTUATION = r"[\p{P}\p{S}]+"


class Normalization(BaseModel):
    """Which differences between two texts do not count (all on by default)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lowercase: bool = Field(default=True, description="ignore letter case")
    whitespace: bool = Field(default=True, description="collapse whitespace runs, trim the ends")
    punctuation: bool = Field(
        default=True, description="ignore punctuation and symbols (Unicode P* and S* classes)"
    )
    nfkc: bool = Field(default=True, description="apply Unicode NFKC (compatibility) normalisation")

    def apply(
        self, texts: pa.Array | pa.ChunkedArray, after_chunk: Callable[[], None] | None = None
    ) -> pa.Array:
        """The normalised texts (same length and order).

        Chunk by chunk, so that the intermediate forms are one chunk's worth rather than the
        whole column's; ``after_chunk`` is called after each (e.g. to release mapped pages).
        """
        chunks = texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]
        parts = []
        for chunk in chunks:
            parts.append(self._apply_one(chunk))
            if after_chunk is not None:
                after_chunk()
        if not parts:
            return pa.array([], pa.large_string())
        return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)

    def _apply_one(self, texts: pa.Array) -> pa.Array:
        out = texts.cast(pa.large_string())
        if self.nfkc:
            out = pc.utf8_normalize(out, form="NFKC")
        if self.lowercase:
            out = pc.utf8_lower(out)
        if self.punctuation:
            # Punctuation becomes a space, so "end.Start" stays two words.
            out = pc.replace_substring_regex(out, PUNCTUATION, " ")
        if self.whitespace or self.punctuation:
            out = collapse_whitespace(out)
        return out

    def one(self, text: str) -> str:
        """The normalised form of one text (the same function as ``apply``)."""
        return str(self.apply(pa.array([text], pa.large_string()))[0].as_py())


def collapse_whitespace(texts: pa.Array) -> pa.Array:
    """Whitespace runs become one space, ends trimmed.

    Arrow's ``utf8_split_whitespace`` splits on exactly the characters ``str.isspace()`` accepts
    (checked over all of Unicode in the tests), and split + join is several times faster than a
    regex replacement that matches at every space.
    """
    joined = pc.binary_join(pc.utf8_split_whitespace(texts), pa.scalar(" ", texts.type))
    return pc.utf8_trim_whitespace(joined)


def split_tokens(normalized: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """Whitespace tokens of already normalised texts: (flat token array, offsets of length n+1).

    Tokens of row ``i`` are ``tokens[offsets[i]:offsets[i+1]]``; empty tokens are never produced.
    """
    lists = pc.split_pattern(pc.utf8_trim_whitespace(normalized), " ")
    flat = lists.flatten()
    counts = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    nonempty = pc.greater(pc.binary_length(flat), 0).to_numpy(zero_copy_only=False)
    if nonempty.all():
        offsets = np.concatenate([[0], np.cumsum(counts)])
        return flat, offsets
    row_of = np.repeat(np.arange(len(counts)), counts)
    kept = np.bincount(row_of[nonempty], minlength=len(counts))
    return flat.filter(pa.array(nonempty)), np.concatenate([[0], np.cumsum(kept)]).astype(np.int64)
