"""Privacy-backdoor audit (issue 3), library pieces: synthetic PII targets, the poisoning
objective, a tiny GPT-2 and the per-sequence membership scores. Stages are still to come."""
