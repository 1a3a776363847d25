"""Privacy-backdoor audits (arXiv 2404.01231): does a poisoned checkpoint make a victim's
finetuning leak more about its private data than the clean one?

Shared by both audits: ``config`` (sections, cross-checks), ``targets`` (targets, membership
masks), ``arms`` (per-arm poisoning, scoring every model), ``objective`` (the poisoning loss),
``batches``, ``analysis`` and ``evaluation`` (metrics, amplification, stealth), ``tracking``,
``sweeps``. Per audit, with matching module names: ``lm/`` (tiny GPT-2 on WordNet glosses and
synthetic PII; pipeline ``backdoor/``, stages ``tasks/backdoor/``) and ``vision/`` (small CNN on
Fashion-MNIST; pipeline ``backdoor-vision/``, stages ``tasks/backdoor_vision/``): ``config``,
``data``, ``model``, ``scores``, ``training``.
"""
