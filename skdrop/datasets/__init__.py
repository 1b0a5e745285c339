"""Small real datasets bundled with skdrop."""

from ._load import load_penguins

__all__ = ["load_penguins"]
