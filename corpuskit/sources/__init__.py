"""Sources (family ``sources``)."""

from corpuskit.sources.base import Source
from corpuskit.sources.documents import DocumentsSource
from corpuskit.sources.text import TextSource

__all__ = ["DocumentsSource", "Source", "TextSource"]
