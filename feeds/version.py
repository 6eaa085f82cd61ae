"""The version of feeds, as its package metadata (from ``pyproject.toml``) says."""

from importlib import metadata

try:
    __version__ = metadata.version("feeds")
except metadata.PackageNotFoundError:  # a source tree that was never installed
    __version__ = "unknown"
