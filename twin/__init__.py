"""Pilot Twin: virtual pilot testing with digital twins of pilot production lines."""

__version__ = "0.1.0"
