"""Fitting models to pilot data: mining event and state logs into a line spec."""
