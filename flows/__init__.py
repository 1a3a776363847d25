"""Prefect flows over the DVC stages: one audit flow for every pipeline, sweeps."""
