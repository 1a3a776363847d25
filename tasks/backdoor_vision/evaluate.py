"""Stage `evaluate`: the privacy-backdoor evaluation (:mod:`leakaudit.backdoor.evaluation`)
over the image scores."""

from leakaudit.backdoor.evaluation import evaluate
from tasks.backdoor_vision._common import stage

SECTIONS = ("base", "evaluate", "tracking")


def main() -> None:
    with stage("evaluate", SECTIONS, torch=False) as s:
        s.metrics |= evaluate(s.params, s.audit_id, s.out, "backdoor-vision")


if __name__ == "__main__":
    main()
