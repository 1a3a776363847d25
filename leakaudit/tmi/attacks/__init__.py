"""Membership attacks as pure functions over the attack inputs
(:mod:`leakaudit.tmi.attack_inputs`), and their registry (:mod:`.registry`)."""
