"""The document registry as this node last read it, kept on local disk beside the lexical index.

Reading a 4,284-document registry whole from Chroma took 1.9 s of a server's 5.5 s start at 100k
passages (Chroma's get of every record's metadata, then their JSON). A process that finds a snapshot
starts from it and reads from Chroma only what the running server reads every minute anyway: the
ids (to drop removed documents), the records written since the newest one the snapshot saw (less the
clock margin) and any id the snapshot lacks. A snapshot of another Chroma database (another
collection id), of another layout, or unreadable is ignored: the registry is then read whole.
Written atomically (a temporary file renamed), after a whole read and, when records changed, at most
every ``SAVE_EVERY`` seconds.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from vectorstore.records import DocumentRecord

log = logging.getLogger(__name__)

SNAPSHOT_VERSION = 2  # 2: outlines kept as their JSON text
SAVE_EVERY = 300.0  # seconds between two saves of a changing registry


@dataclass
class Snapshot:
    records: dict[str, DocumentRecord]
    written_of: dict[str, int]  # each record's write time (microseconds), as read
    written_seen: int  # the newest write time read


class RegistrySnapshot:
    def __init__(self, path: Path, collection: str) -> None:
        self.path = Path(path)
        self.collection = collection  # the registry collection's id: a snapshot of another database is not used
        self._saved_at = time.monotonic()  # a new process saves a changing registry after SAVE_EVERY too

    def load(self) -> Snapshot | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("version") != SNAPSHOT_VERSION or data.get("collection") != self.collection:
                return None
            rows = data["records"].items()
            records = {doc_id: DocumentRecord(id=doc_id, **fields) for doc_id, (_, fields) in rows}
            written_of = {doc_id: int(written) for doc_id, (written, _) in rows}
            return Snapshot(records, written_of, int(data["written_seen"]))
        except FileNotFoundError:
            return None
        except Exception:  # noqa: BLE001 - a damaged or foreign file: read the registry whole
            log.warning("ignoring the registry snapshot %s", self.path, exc_info=True)
            return None

    def due(self) -> bool:
        return time.monotonic() - self._saved_at >= SAVE_EVERY

    def save(self, snapshot: Snapshot) -> None:
        """Write ``snapshot`` whole; a failure (a read-only data directory) is logged, never raised."""
        data = {
            "version": SNAPSHOT_VERSION, "collection": self.collection, "written_seen": snapshot.written_seen,
            "records": {doc_id: [snapshot.written_of.get(doc_id, 0), _fields(record)]
                        for doc_id, record in snapshot.records.items()},
        }
        scratch = ""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, scratch = tempfile.mkstemp(prefix=".registry-", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(json.dumps(data, ensure_ascii=False))  # the C encoder; json.dump encodes in Python
            os.replace(scratch, self.path)
            self._saved_at = time.monotonic()
        except OSError:
            log.warning("could not save the registry snapshot %s", self.path, exc_info=True)
        finally:
            if scratch and os.path.exists(scratch):
                os.unlink(scratch)


def _fields(record: DocumentRecord) -> dict:
    """The record's fields as JSON takes them, the outline as its JSON text (as in Chroma's metadata:
    parsed only when a document's outline is shown; ``dataclasses.asdict`` deep-copied the trees,
    3.3 s for 4,284 records)."""
    fields = {name: getattr(record, name) for name in FIELDS}
    fields["sections"] = record.sections_json()
    return fields


FIELDS = tuple(name for name in DocumentRecord.__dataclass_fields__ if name != "id")
