"""Generators (family ``generators``)."""

from corpuskit.generators.base import Generator

__all__ = ["Generator"]
