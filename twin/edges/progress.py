"""A progress bar for long commands (sweeps, optimisations), on standard error."""

from __future__ import annotations

import sys
from typing import Any


class ProgressBar:
    """``progress(done, total)`` callback drawing a tqdm bar; no bar when disabled or when
    standard error is not a terminal. Use as a context manager so the bar is closed."""

    def __init__(self, desc: str, enabled: bool = True) -> None:
        self.desc, self.enabled = desc, enabled
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, initial=done, unit="run", desc=self.desc,
                             file=sys.stderr, disable=None)  # None: no bar off a terminal
        self._bar.total = total
        self._bar.n = done
        self._bar.refresh()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
