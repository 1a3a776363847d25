"""leakaudit: audit what transfer learning leaks about data (TMI, privacy backdoors)."""

__version__ = "0.1.0"
