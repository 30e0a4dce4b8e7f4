"""A trained model per budget under DATA_DIR, reused while the history is unchanged.

The file name holds the budget; the file starts with a header naming the model version and the
fingerprint of the history it was trained on. A missing, unreadable, corrupt or outdated file is
simply trained again (never an error). Files are written to a temp name and renamed, so a crash
mid-write leaves the old file or none. The cache holds pickles written by this process only.
"""
from __future__ import annotations

import hashlib
import logging
import os
import pickle
import re
import tempfile
from pathlib import Path
from typing import Optional, Sequence

from budget.connector import Category, Transaction
from suggestions.model import MODEL_VERSION, TrainedModel

log = logging.getLogger(__name__)
MAGIC = b"budget-assist-model\n"


HASH_CHUNK = 4096


def fingerprint(history: Sequence[Transaction], categories: Sequence[Category]) -> str:
    """Hash of everything training reads (order-independent) and of the model version.

    The sorted rows are hashed a chunk at a time (never one joined copy of them all: 100,000 rows
    would hold two more copies, some 30 MB, at the worker's peak)."""
    parts = [f"v{MODEL_VERSION}"]
    parts += sorted(f"c\x1f{c.id}\x1f{c.name}" for c in categories)
    parts += sorted(f"{t.id}\x1f{t.category_id}\x1f{t.date}\x1f{t.amount}\x1f{t.payee_name}\x1f{t.imported_payee}"
                    f"\x1f{t.notes}\x1f{t.account_id}" for t in history)
    digest = hashlib.sha256()
    for i in range(0, len(parts), HASH_CHUNK):
        digest.update(("\x1e" if i else "").encode() + "\x1e".join(parts[i:i + HASH_CHUNK]).encode())
    return digest.hexdigest()


class ModelCache:
    """Load and store one TrainedModel per budget in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path(self, budget_id: str) -> Path:
        """Where the budget's model lives."""
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", budget_id) or "_"
        return self.directory / f"suggest-model-{safe}.pkl"

    def load(self, budget_id: str, print_: str) -> Optional[TrainedModel]:
        """The cached model if it was trained on exactly this history, else None."""
        path = self.path(budget_id)
        try:
            with open(path, "rb") as f:
                if f.read(len(MAGIC)) != MAGIC or f.readline().strip().decode() != print_:
                    return None
                model = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception as exc:  # corrupt or from another version: train again
            log.warning("model cache %s unreadable (%s); retraining", path.name, type(exc).__name__)
            return None
        if not isinstance(model, TrainedModel) or model.version != MODEL_VERSION:
            return None
        return model

    def store(self, budget_id: str, print_: str, model: TrainedModel) -> None:
        """Write the model atomically; a failure is logged, never raised."""
        path = self.path(budget_id)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".pkl")
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + print_.encode() + b"\n")
                pickle.dump(model, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except Exception as exc:
            log.warning("model cache %s not written (%s)", path.name, type(exc).__name__)
