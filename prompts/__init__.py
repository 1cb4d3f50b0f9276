"""Prompt and answer templates, kept as files. This package imports nothing of the project.

Answer templates exist per language (``vi/``, ``en/``): an English question gets
English framing around the Vietnamese quotes. Other templates sit at the top level.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str, language: str = "vi") -> str:
    """The template ``name`` for ``language`` (``LANG/NAME``, else the Vietnamese one, else
    the top-level file), without its trailing newline."""
    root = resources.files(__package__)
    for candidate in (f"{language}/{name}", f"vi/{name}", name):
        path = root.joinpath(candidate)
        if path.is_file():
            return path.read_text(encoding="utf-8").rstrip("\n")
    raise FileNotFoundError(f"no template {name!r} in prompts/")
