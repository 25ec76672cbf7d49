"""Filters and mappers (family ``filters``)."""

from corpuskit.filters.base import Filter, Mapper, filter_function
from corpuskit.filters.length import WordCountFilter

__all__ = ["Filter", "Mapper", "WordCountFilter", "filter_function"]
