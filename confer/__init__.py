"""Confer: time-boxed, multi-day virtual conferences for local government."""

__version__ = "0.1.0"
