"""Stage `evaluate` of both privacy-backdoor audits (``--pipeline backdoor`` or
``--pipeline backdoor-vision``; :mod:`leakaudit.backdoor.evaluation`): best-vs-best
amplification first, paired clustered intervals, target specificity, stealth; a ROC plot of
both arms; the MLflow record."""

from leakaudit.backdoor.evaluation import evaluate
from tasks._stage import stage


def main() -> None:
    with stage("evaluate") as s:
        s.metrics |= evaluate(s.params, s.pipeline)


if __name__ == "__main__":
    main()
