"""Data layer: quantities and units, distributions, and the line specification schema."""
