"""Membership attacks as pure functions over signal arrays, and their registry."""

from leakaudit.attacks.registry import ATTACKS, AttackInputs, run_attack

__all__ = ["ATTACKS", "AttackInputs", "run_attack"]
