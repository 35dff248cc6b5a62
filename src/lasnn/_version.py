"""The version of lasnn (one home, imported by the package face and by what records it)."""

__version__ = "0.1.0"
