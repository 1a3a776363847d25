"""Stage `pretrain`: the benign base model — the domain's published or user checkpoint, or a
classifier trained here on its own disjoint part of the pool — with where its weights came
from (``source.json`` beside them)."""

from leakaudit.backdoor.vision import model as classifier
from tasks._stage import stage

SOURCE = "source.json"


def main() -> None:
    with stage("pretrain") as s:
        p, domain = s.params, s.pipeline.domain
        model, config, source = domain.base_model(p, s.device)
        held = domain.heldout(p)
        s.metrics["heldout_loss"], s.metrics["heldout_accuracy"] = \
            classifier.loss_and_accuracy(model.to(s.device), held.x, held.y, s.device)
        classifier.save(model, config, s.path("base_model"), s.audit_id,
                        records={SOURCE: source})


if __name__ == "__main__":
    main()
