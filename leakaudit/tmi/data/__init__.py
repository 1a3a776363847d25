"""Data sources (a registry), splits and query views."""

from leakaudit.tmi.data.sources import TransferData, load_source

__all__ = ["TransferData", "load_source"]
