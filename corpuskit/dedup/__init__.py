"""Deduplication and decontamination (family ``dedup``)."""

from corpuskit.dedup.base import Dedup

__all__ = ["Dedup"]
