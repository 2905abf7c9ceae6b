"""Constants and tiny helpers shared by the model right-hand sides."""

from __future__ import annotations

#: Molar gas constant [J/(mol K)] (CODATA 2018, exact value).
R_GAS = 8.314462618

#: Number of event slots every model fills (unused slots hold a negative constant).
MAX_EVENTS = 4

#: Value written to an unused or disabled event slot (never crosses zero).
EVENT_OFF = -1.0
