"""Edges: the command line and other front ends. Nothing in the library imports this."""
