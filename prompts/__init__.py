"""Prompt and answer templates, kept as files. This package imports nothing of the project."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The template ``name`` (a file in this folder), without its trailing newline."""
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8").rstrip("\n")
