"""Stage `evaluate`: the language-model pipeline's evaluation (AUC and TPR at 1 %, 0.1 % and
10 % FPR with bootstrap intervals per arm and score, the amplification, stealth, ROC plot,
MLflow) over the image scores."""

from leakaudit.backdoor.image_scores import IMAGE_SCORES
from tasks.backdoor.evaluate import evaluate
from tasks.backdoor_vision._common import stage


def main() -> None:
    with stage("evaluate", ("evaluate",), torch=False) as s:
        evaluate(s, "bd_image_candidates", "bd_image_scores", IMAGE_SCORES, "backdoor-vision")


if __name__ == "__main__":
    main()
