"""Membership attacks as pure functions over signal arrays (:mod:`.inputs`), and their
registry (:mod:`.registry`)."""
