"""The headless front end: `onsite COMMAND ...`."""

from .main import main

__all__ = ["main"]
