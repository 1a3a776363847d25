"""Stage `pretrain`: the benign base model — a small CNN trained on its own disjoint part of
Fashion-MNIST — or your checkpoint (`cnn.checkpoint`, safetensors only)."""

from leakaudit.backdoor.vision import model as classifier
from leakaudit.backdoor.vision.data import heldout_indices, load_split, split_indices
from leakaudit.core.seeds import seed_int, torch_generator
from tasks._stage import stage


def main() -> None:
    with stage("pretrain") as s:
        p = s.params
        if p.cnn.checkpoint:
            model, config = classifier.load(p.cnn.checkpoint)
        else:
            train = load_split(p.images.path, "train")
            part = train.take(split_indices(p.images, p.targets.n_candidates, p.base.seed)
                              ["pretrain"])
            torch_seed = seed_int(p.base.seed, "vision-init")
            import torch

            torch.manual_seed(torch_seed)
            config = classifier.config_of(p.cnn.channels, p.cnn.feature_dim)
            model = classifier.build(p.cnn.channels, p.cnn.feature_dim).to(s.device)
            c = p.cnn_pretrain
            classifier.fit(model, part.x, part.y, c.epochs, c.batch_size, c.lr,
                           torch_generator(p.base.seed, "vision-pretrain"), s.device)
        test = load_split(p.images.path, "test").take(heldout_indices(p.images, p.base.seed))
        s.metrics["heldout_loss"], s.metrics["heldout_accuracy"] = \
            classifier.loss_and_accuracy(model.to(s.device), test.x, test.y, s.device)
        classifier.save(model, config, s.path("base_model"), s.audit_id)


if __name__ == "__main__":
    main()
