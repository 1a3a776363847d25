"""Stages of the privacy-backdoor audit (`backdoor/dvc.yaml`, run from `backdoor/`)."""
