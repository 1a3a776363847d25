"""Stage `evaluate`: per arm and score, AUC and TPR at 1 %, 0.1 % and 10 % FPR with bootstrap
intervals; the amplification; stealth; a ROC plot of both arms; the MLflow record."""

from leakaudit.backdoor.evaluation import evaluate
from leakaudit.backdoor.lm.scores import LM_SCORES
from tasks.backdoor._common import stage

SECTIONS = ("base", "evaluate", "tracking")


def main() -> None:
    with stage("evaluate", SECTIONS, torch=False) as s:
        s.metrics |= evaluate(s.params, s.audit_id, s.out, "bd_candidates", "bd_scores",
                              LM_SCORES, "backdoor")


if __name__ == "__main__":
    main()
