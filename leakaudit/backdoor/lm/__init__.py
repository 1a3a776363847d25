"""The language-model privacy-backdoor audit (``backdoor/``): a tiny GPT-2 poisoned on
synthetic PII; its stages are declared in :mod:`.pipeline`."""
