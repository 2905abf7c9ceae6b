"""A compiled (Numba) engine for discrete lines: the same results as the SimPy engine.

:mod:`.lower` turns the spec into flat arrays once and keeps the random streams;
:mod:`.loop` is the event loop (a cached kernel); :mod:`.engine` runs it and hands the
records to the recorder, so the same tables and KPIs follow.
"""
