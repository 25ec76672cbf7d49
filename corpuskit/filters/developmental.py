"""Child-directed / developmental filters: vocabulary coverage, lexical diversity, speaker roles.

Word-level checks compare *normalised* words: lower-cased, with leading and trailing non-letters
removed (``"Dog!"`` -> ``"dog"``); words with no letters at all (numbers, punctuation) are not
counted.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import Field, model_validator

from corpuskit.filters.base import Filter
from corpuskit.filters.language import normalised_words
from corpuskit.filters.textops import (
    as_bool,
    is_in,
    ratio,
    reasons_from_masks,
    segment_sum,
    text_column,
)
from corpuskit.filters.wordlists import FileFilter, load_word_list
from corpuskit.tally import distinct_sorted


def _letter_words(texts: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Normalised words, a mask of those with letters, and per-row offsets."""
    bare, offsets = normalised_words(texts)
    return bare, as_bool(pc.greater(pc.binary_length(bare), 0)), offsets


class VocabularyCoverageFilter(FileFilter, kind="vocab_coverage"):
    """Keep documents whose words are mostly in a word list (e.g. an age-of-acquisition list).

    The list is a file with one word per line, optionally ``word<TAB or comma>value``; with
    ``max_value`` only words whose value is at most that count as known (e.g. AoA <= 6).
    Documents with fewer than ``min_words`` (letter-bearing) words are kept unjudged.
    Drop reasons: ``low_vocab_coverage``.
    """

    drop_reasons = ("low_vocab_coverage",)

    path: str = Field(description="word-list file (relative paths are under the data root)")
    min_coverage: float = Field(
        default=0.9, ge=0, le=1, description="minimum share of words found in the list"
    )
    max_value: float | None = Field(
        default=None, description="count only list words whose value is at most this"
    )
    min_words: int = Field(default=1, ge=0, description="documents with fewer words are kept")

    def word_list_path(self) -> str | None:
        return self.path

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        known_words = load_word_list(self.path, lower=True, values=True, max_value=self.max_value)
        bare, has_letters, offsets = _letter_words(text_column(block))
        words = segment_sum(has_letters, offsets)
        known = segment_sum(has_letters & is_in(bare, known_words), offsets)
        low = (words >= max(self.min_words, 1)) & (ratio(known, words) < self.min_coverage)
        return reasons_from_masks(block.num_rows, [("low_vocab_coverage", low)])


class TypeTokenRatioFilter(Filter, kind="type_token_ratio"):
    """Keep documents whose lexical diversity (distinct words / words) is in range.

    TTR falls as texts grow, so only documents with at least ``min_words`` words are judged.
    Drop reasons: ``low_lexical_diversity``, ``high_lexical_diversity``.
    """

    drop_reasons = ("low_lexical_diversity", "high_lexical_diversity")

    min_ttr: float | None = Field(default=0.3, ge=0, le=1, description="minimum type-token ratio")
    max_ttr: float | None = Field(default=None, ge=0, le=1, description="maximum type-token ratio")
    min_words: int = Field(default=10, ge=1, description="documents with fewer words are kept")

    @model_validator(mode="after")
    def _ordered(self) -> TypeTokenRatioFilter:
        if self.min_ttr is not None and self.max_ttr is not None and self.max_ttr < self.min_ttr:
            raise ValueError(f"max_ttr ({self.max_ttr}) is below min_ttr ({self.min_ttr})")
        return self

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        bare, has_letters, offsets = _letter_words(text_column(block))
        rows = np.repeat(np.arange(block.num_rows), np.diff(offsets))[has_letters]
        ids = np.asarray(pc.dictionary_encode(bare.filter(pa.array(has_letters))).indices, np.int64)
        tokens = np.bincount(rows, minlength=block.num_rows)
        distinct_pairs = distinct_sorted(rows * (int(ids.max(initial=0)) + 1) + ids)
        types = np.bincount(
            distinct_pairs // (int(ids.max(initial=0)) + 1), minlength=block.num_rows
        )
        ttr = ratio(types, tokens)
        judged = tokens >= self.min_words
        low = self.min_ttr if self.min_ttr is not None else -1.0
        high = self.max_ttr if self.max_ttr is not None else 2.0
        return reasons_from_masks(
            block.num_rows,
            [
                ("low_lexical_diversity", judged & (ttr < low)),
                ("high_lexical_diversity", judged & (ttr > high)),
            ],
        )


class SpeakerRoleFilter(Filter, kind="speaker_role"):
    """Keep dialogue documents by speaker code and role (from the ``dialogue`` source's meta).

    An utterance document has ``meta.speaker``/``meta.role``; a grouped one has
    ``meta.speakers`` (code -> role). A grouped document passes only if *all* its speakers pass.
    Drop reasons: ``no_speaker_info``, ``excluded_speaker``, ``excluded_role``, ``role_not_kept``.
    """

    drop_reasons = ("no_speaker_info", "excluded_speaker", "excluded_role", "role_not_kept")

    keep_roles: list[str] | None = Field(
        default=None, description="keep only documents whose speakers all have one of these roles"
    )
    exclude_roles: list[str] = Field(
        default=[], description="drop documents with a speaker in one of these roles"
    )
    exclude_speakers: list[str] = Field(
        default=[], description="drop documents with one of these speaker codes"
    )
    keep_unlabelled: bool = Field(
        default=False, description="keep documents that carry no speaker information"
    )

    def drop_reasons_block(self, block: pa.Table) -> pa.Array:
        # documents of one dialogue share a handful of meta strings: decide each distinct one once
        encoded = pc.dictionary_encode(block["meta"].combine_chunks())
        verdicts = [self._decide(json.loads(m)) for m in encoded.dictionary.to_pylist()]
        indices = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        return pa.array(
            np.array(verdicts, dtype=object)[indices] if len(indices) else [], pa.string()
        )

    def _decide(self, meta: object) -> str | None:
        speakers: dict[str, str] = {}
        if isinstance(meta, dict):
            if isinstance(meta.get("speakers"), dict):
                speakers = {str(k): str(v) for k, v in meta["speakers"].items()}
            elif "speaker" in meta:
                speakers = {str(meta["speaker"]): str(meta.get("role", ""))}
        if not speakers:
            return None if self.keep_unlabelled else "no_speaker_info"
        if any(code in self.exclude_speakers for code in speakers):
            return "excluded_speaker"
        if any(role in self.exclude_roles for role in speakers.values()):
            return "excluded_role"
        if self.keep_roles is not None and any(r not in self.keep_roles for r in speakers.values()):
            return "role_not_kept"
        return None
