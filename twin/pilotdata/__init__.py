"""Pilot data in: the formats of plant records (event logs, equipment state logs, batch
records, time series, lab samples, tag maps) and their loading into clean tables with a
located report of every problem (see docs/PILOT_DATA.md)."""
