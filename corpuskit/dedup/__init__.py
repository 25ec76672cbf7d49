"""Deduplication and decontamination (family ``dedup``)."""

from corpuskit.dedup.base import ClusterDedup, Dedup, Rewrite
from corpuskit.dedup.exact import ExactDedup
from corpuskit.dedup.minhash import MinHashDedup

__all__ = ["ClusterDedup", "Dedup", "ExactDedup", "MinHashDedup", "Rewrite"]
