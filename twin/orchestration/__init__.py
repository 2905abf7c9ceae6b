"""Orchestration layer: single runs with provenance, run folders, experiments."""
