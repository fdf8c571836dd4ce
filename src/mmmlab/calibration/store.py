"""One small JSON file per finished fit: written atomically as the fit completes, so a study resumes where it stopped."""

from __future__ import annotations

import json
from pathlib import Path

from mmmlab.files import write_json

PATTERN = "fit-*.json"
SETTINGS = "study.json"  # the settings key the records were made under


class ResultStore:
    """The per-fit records of one study, under ``models/calibration/<study>/``.

    Parameters
    ----------
    folder : pathlib.Path
        The study's folder (created on the first write).
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def path(self, index: int) -> Path:
        """The record file of fit ``index``."""
        return self.folder / f"fit-{index:05d}.json"

    def done(self) -> set[int]:
        """The indices of fits with a record (finished, or failed with their error recorded)."""
        return {int(p.stem.removeprefix("fit-")) for p in self.folder.glob(PATTERN)}

    def write(self, index: int, record: dict) -> None:
        """Write fit ``index``'s record atomically (a temporary file renamed into place)."""
        write_json(self.path(index), record)

    def records(self) -> list[dict]:
        """Every record, by index."""
        return [json.loads(p.read_text()) for p in sorted(self.folder.glob(PATTERN))]

    def clear(self) -> None:
        """Remove every record (``--fresh``)."""
        for path in self.folder.glob(PATTERN):
            path.unlink()

    def claim(self, key: str) -> bool:
        """Make the store ``key``'s: records made under another key are removed.

        Parameters
        ----------
        key : str
            The study's settings key (:func:`mmmlab.calibration.plan.settings_key`).

        Returns
        -------
        bool
            True when records of other settings were removed.
        """
        marker = self.folder / SETTINGS
        previous = json.loads(marker.read_text())["key"] if marker.exists() else None
        stale = previous != key and bool(self.done())
        if stale:
            self.clear()
        write_json(marker, {"key": key})
        return stale
