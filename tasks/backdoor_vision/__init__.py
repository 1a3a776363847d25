"""Stages of the vision privacy-backdoor audit (`backdoor-vision/dvc.yaml`)."""
