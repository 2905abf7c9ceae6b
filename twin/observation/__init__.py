"""Observation layer: the recorder of what happened, the ledger of flows, and KPIs."""
