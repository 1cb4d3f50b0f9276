"""Strings that no encoder can write: lone UTF-16 surrogates.

JSON may carry ``"\\ud800"``; Python decodes it into a string that UTF-8 cannot encode, so it
fails wherever it is written next (a response body, a tokenizer, a log file). Requests are
checked once, as they arrive, and refused with the place of the bad character.
"""

from __future__ import annotations

import re
from typing import Any

_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_path(value: Any, path: str = "") -> str | None:
    """Where in ``value`` (nested dicts, lists, strings) a lone surrogate occurs, e.g.
    ``messages[0].content``, or None. Dict keys are checked too."""
    if isinstance(value, str):
        return (path or "$") if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _SURROGATE.search(key):
                return name
            if (found := lone_surrogate_path(item, name)) is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if (found := lone_surrogate_path(item, f"{path}[{i}]")) is not None:
                return found
    return None
