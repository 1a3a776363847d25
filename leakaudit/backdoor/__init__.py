"""Privacy-backdoor audits (arXiv 2404.01231): does a poisoned checkpoint make a victim's
finetuning leak more about its private data than the clean one?

Shared by both audits: ``config`` (sections, cross-checks), ``targets`` (targets, membership
masks), ``arms`` (per-arm poisoning, scoring every model), ``objective`` (the poisoning loss),
``batches``, ``analysis`` and ``evaluation`` (metrics, amplification, stealth), ``tracking``,
``sweeps``, ``finetuning`` (victim modes), ``serving`` (quantised serving), ``domain`` (what a
classifier audit needs of its data and model). Per audit: ``lm/`` (tiny GPT-2 on WordNet
glosses and synthetic PII; pipeline ``backdoor/``, stages ``tasks/backdoor/``); ``vision/``
(small CNN on Fashion-MNIST; pipeline ``backdoor-vision/``) and ``text/`` (the published MiniLM
encoder on WordNet gloss categories; pipeline ``backdoor-text/``), both classifier audits run by
the stages in ``tasks/backdoor_classifier/`` on their ``domain``.
"""
