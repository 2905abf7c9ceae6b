"""The web dashboard: live runs, replay and comparison of stored runs (``twin dashboard``)."""
