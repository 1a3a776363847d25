"""Privacy-backdoor audit (arXiv 2404.01231): synthetic PII targets, the poisoning objective, a
tiny GPT-2, causal-LM plumbing, per-sequence scores and the arm comparison. The stages are in
``tasks/backdoor/`` and the pipeline in ``backdoor/dvc.yaml``."""
