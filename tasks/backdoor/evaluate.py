"""Stage `evaluate`: the privacy-backdoor evaluation (:mod:`leakaudit.backdoor.evaluation`)
over the language-model scores: best-vs-best amplification first, paired clustered intervals,
target specificity, stealth; a ROC plot of both arms; the MLflow record."""

from leakaudit.backdoor.evaluation import evaluate
from tasks.backdoor._common import stage

SECTIONS = ("base", "evaluate", "tracking")


def main() -> None:
    with stage("evaluate", SECTIONS, torch=False) as s:
        s.metrics |= evaluate(s.params, s.audit_id, s.out, "backdoor")


if __name__ == "__main__":
    main()
