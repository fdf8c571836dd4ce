"""A study's progress on the terminal: fits done of the total, time elapsed, and the time left at this run's pace."""

from __future__ import annotations

import sys
import time


def duration(seconds: float) -> str:
    """``95`` -> ``"1 min 35 s"``; under a minute in seconds, from an hour in hours and minutes."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


class Progress:
    """One line, rewritten in place on a terminal, a line per fit otherwise (a log file, DVC's output).

    Parameters
    ----------
    label : str
        Shown first (the study's name).
    total : int
        Fits in the study.
    done : int
        Fits already on disk when this run starts (they do not count towards its pace).
    stream : file, optional
        Where to write (standard error).
    """

    def __init__(self, label: str, total: int, done: int, stream=None):
        self.label, self.total, self.start_done, self.done = label, total, done, done
        self.stream = stream or sys.stderr
        self.start = time.perf_counter()
        self.live = self.stream.isatty()

    def line(self) -> str:
        """``"sbc_default: 12/200 fits, 1 min 05 s elapsed, about 17 min left"``."""
        elapsed = time.perf_counter() - self.start
        text = f"{self.label}: {self.done}/{self.total} fits, {duration(elapsed)} elapsed"
        made = self.done - self.start_done
        if made and self.done < self.total:
            text += f", about {duration(elapsed / made * (self.total - self.done))} left"
        return text

    def update(self, fits: int = 1) -> None:
        """Count ``fits`` more and show the line."""
        self.done += fits
        self.stream.write(("\r" + self.line() + "\033[K") if self.live else self.line() + "\n")
        self.stream.flush()

    def close(self) -> None:
        """End the line on a terminal."""
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
