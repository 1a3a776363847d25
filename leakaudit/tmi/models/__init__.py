"""Model builders: a backbone producing features and a linear head on top."""

from leakaudit.tmi.models.builder import TransferNet, build_model

__all__ = ["TransferNet", "build_model"]
