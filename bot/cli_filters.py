"""``--doc``, ``--type``, ``--issuer``, ``--since``, ``--until`` on ``chidao ask`` and ``chidao search``:
the same filters as the HTTP API's ``filters`` object."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import PurePath
from typing import Any, TypeVar

import click

from vectorstore.filters import FilterError, Filters

F = TypeVar("F", bound=Callable[..., Any])
OPTION_OF = {"date_from": "--since", "date_to": "--until", "document_ids": "--doc", "doc_types": "--type",
             "issuers": "--issuer"}


def filter_options(func: F) -> F:
    """Adds the filter options; the command receives them as one ``filters`` dict of raw values."""

    @click.option("--doc", "document_ids", multiple=True,
                  help="Chỉ trong văn bản này (mã, tên tệp hoặc đường dẫn); lặp lại được.")
    @click.option("--type", "doc_types", multiple=True, help="Chỉ loại văn bản này (Kế hoạch, KH, Công văn…).")
    @click.option("--issuer", "issuers", multiple=True, help="Chỉ văn bản của cơ quan ban hành này.")
    @click.option("--since", "date_from", default=None, help="Văn bản ban hành từ ngày (YYYY-MM-DD).")
    @click.option("--until", "date_to", default=None, help="Văn bản ban hành đến ngày (YYYY-MM-DD).")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = {name: kwargs.pop(name) for name in OPTION_OF}
        return func(*args, filters=raw, **kwargs)

    return wrapper  # type: ignore[return-value]


def resolve_document(ref: str, registry: dict[str, Any]) -> str:
    """A document id from an id, a file name or a path (as ``chidao remove`` takes them)."""
    from vectorstore.indexer import document_id

    name = PurePath(ref).name
    for candidate in (ref, document_id(name)):
        if candidate in registry:
            return candidate
    for doc in registry.values():
        if doc.source == name:
            return str(doc.id)
    raise click.BadParameter(f"không có văn bản '{ref}' (xem: chidao list)", param_hint="'--doc'")


def build_filters(raw: dict[str, Any], registry: dict[str, Any]) -> Filters | None:
    """The parsed filters (None when no option was given); a bad value names its option."""
    data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in raw.items() if v}
    if data.get("document_ids"):
        data["document_ids"] = [resolve_document(ref, registry) for ref in data["document_ids"]]
    try:
        filters = Filters.parse(data)
    except FilterError as exc:
        message = str(exc)
        for name, option in OPTION_OF.items():
            message = message.replace(f"'{name}'", f"'{option}'")
        raise click.UsageError(message) from exc
    return filters or None
