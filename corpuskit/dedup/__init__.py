"""Deduplication and decontamination (family ``dedup``)."""

from corpuskit.dedup.base import ClusterDedup, Dedup, Rewrite
from corpuskit.dedup.decontaminate import DecontaminateDedup
from corpuskit.dedup.evalsets import EvalSet
from corpuskit.dedup.exact import ExactDedup
from corpuskit.dedup.minhash import MinHashDedup
from corpuskit.dedup.repeats import LineDedup, SentenceDedup

__all__ = [
    "ClusterDedup",
    "DecontaminateDedup",
    "Dedup",
    "EvalSet",
    "ExactDedup",
    "LineDedup",
    "MinHashDedup",
    "Rewrite",
    "SentenceDedup",
]
