"""Simulation layer: the SimPy engine, equipment, buffers, failures, shifts and the builder."""
