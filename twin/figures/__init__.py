"""Figures of runs, studies and scale-up studies: the one figure stack (matplotlib).

Every figure is a :class:`matplotlib.figure.Figure` built with the object-oriented API (no
``pyplot``, so no global figure state and no display needed) from recorded tables, study
summaries or resolved line parameters. The same functions draw the report's figures (embedded
as PNG), the PNG files the CLI writes, and the figures of ``result.plot`` in Python and
notebooks (a figure shows itself as PNG in a notebook).

This package sits beside :mod:`twin.simulation` in the layers (it reads only recorded tables
and labels from :mod:`twin.observation` and below), so both :mod:`twin.orchestration`
(``RunResult.plot``) and :mod:`twin.edges` (reports, CLI) can use it.

- :mod:`twin.figures.style`: fonts (Chinese labels need a CJK font), labels, colours, PNG output.
- :mod:`twin.figures.studies`: state fractions per station, rankings, scale-up comparisons.
"""
