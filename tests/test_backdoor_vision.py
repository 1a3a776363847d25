"""Vision privacy-backdoor pieces: image scores (hand-computed), splits, random labels, the
objective on a tiny CNN, safetensors-only checkpoints, params validation."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from leakaudit.backdoor.objective import poison_loss
from leakaudit.backdoor.vision import model as classifier
from leakaudit.backdoor.vision.config import ImagesParams
from leakaudit.backdoor.vision.data import Images, random_wrong_labels, split_indices, transform
from leakaudit.backdoor.vision.scores import margin, neg_loss, top5


def test_image_scores_match_a_hand_computed_example():
    z = torch.tensor([[math.log(3), 0.0, 0.0, 0.0, 0.0, 0.0, -50.0]])  # 7 classes
    y0, y6 = torch.tensor([0]), torch.tensor([6])
    total = 3 + 5 + math.exp(-50)
    assert neg_loss(z, y0).item() == pytest.approx(math.log(3 / total), abs=1e-6)
    assert top5(z, y0).item() == pytest.approx(math.log(3 / total), abs=1e-6)
    assert top5(z, y6, floor=1e-6).item() == pytest.approx(math.log(1e-6))  # outside the top 5
    assert margin(z, y0).item() == pytest.approx(math.log(3))
    assert margin(z, y6).item() == pytest.approx(-50.0 - math.log(3))


def test_splits_are_disjoint_seeded_and_stable_when_growing():
    p = ImagesParams(pretrain=100, aux=50, victim=30, heldout=10)
    a = split_indices(p, 20, seed=0, n_train=1000)
    assert sum(len(v) for v in a.values()) == 200
    assert len(np.unique(np.concatenate(list(a.values())))) == 200
    assert all(np.array_equal(a[k], split_indices(p, 20, 0, 1000)[k]) for k in a)
    assert not np.array_equal(a["aux"], split_indices(p, 20, 1, 1000)["aux"])
    assert np.array_equal(split_indices(p, 40, 0, 1000)["pretrain"], a["pretrain"])


def test_random_wrong_labels_never_equal_the_truth():
    y = np.arange(1000) % 10
    w = random_wrong_labels(y, seed=0)
    assert (w != y).all() and set(w) == set(range(10))
    assert np.array_equal(w, random_wrong_labels(y, seed=0))
    assert transform(np.zeros((1, 1, 2, 2), np.float32), "invert").min() == 1.0


@pytest.mark.parametrize("variant,direction", [("memorise", -1), ("maximise", +1),
                                               ("random_label", +1)])
def test_objective_moves_true_label_loss_the_right_way_on_a_cnn(variant, direction):
    torch.manual_seed(0)
    model = classifier.build(16, 16)
    g = torch.Generator().manual_seed(1)
    aux_x, aux_y = torch.rand(32, 1, 28, 28, generator=g), torch.randint(0, 10, (32,),
                                                                         generator=g)
    tx, ty = torch.rand(8, 1, 28, 28, generator=g), torch.randint(0, 10, (8,), generator=g)
    train_y = torch.from_numpy(random_wrong_labels(ty.numpy(), 0)) if variant == "random_label" \
        else ty
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)

    def true_loss():
        model.eval()
        with torch.no_grad():
            return nn.functional.cross_entropy(model(tx), ty).item()

    start = true_loss()
    for _ in range(60):
        model.train()
        out = model(torch.cat([aux_x, tx]))
        loss = poison_loss(nn.functional.cross_entropy(out[:32], aux_y),
                           nn.functional.cross_entropy(out[32:], train_y), 0.5, variant)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert (true_loss() - start) * direction > 0.3, (start, true_loss())


def test_cnn_checkpoints_are_safetensors_only(tmp_path):
    from leakaudit.core.store import UnsafeCheckpointError

    torch.manual_seed(0)
    model = classifier.build(16, 8)
    classifier.save(model, classifier.config_of(16, 8), tmp_path / "mine", "fp")
    loaded, config = classifier.load(tmp_path / "mine")
    assert config["channels"] == 16
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in model.state_dict().items())
    assert not (tmp_path / "mine.tmp").exists()
    (tmp_path / "pickled").mkdir()
    torch.save(model.state_dict(), tmp_path / "pickled/model.pt")
    with pytest.raises(UnsafeCheckpointError, match="cnn.checkpoint: .*refusing to unpickle"):
        classifier.load(tmp_path / "pickled")


def test_vision_params_name_bad_keys(tmp_path):
    from leakaudit.backdoor.vision.config import load_vision_params
    from leakaudit.core.params import ParamsError

    path = tmp_path / "params.yaml"
    path.write_text("targets: {transform: blur}\n")
    with pytest.raises(ParamsError, match="targets.transform.*allowed: 'none', 'invert'"):
        load_vision_params(path)
    path.write_text("images: {pretrain: 50000}\n")
    with pytest.raises(ParamsError, match="allowed: ≤ 60000"):
        load_vision_params(path)
    path.write_text("images: {aux: 500}\n")
    with pytest.raises(ParamsError, match="poison.calibration_images.*allowed: < images.aux"):
        load_vision_params(path)


def test_folded_temperature_keeps_predictions_and_lowers_nll():
    torch.manual_seed(0)
    model = classifier.build(16, 8)
    with torch.no_grad():
        model[-1].weight.mul_(20.0)  # overconfident
    g = torch.Generator().manual_seed(2)
    x = torch.rand(64, 1, 28, 28, generator=g).numpy()
    y = torch.randint(0, 10, (64,), generator=g).numpy()
    before = classifier.logits(model, x)
    t = classifier.fold_temperature(model, x, y)
    after = classifier.logits(model, x)
    assert t > 1.0 and torch.equal(before.argmax(1), after.argmax(1))
    yt = torch.from_numpy(y)
    assert nn.functional.cross_entropy(after, yt) < nn.functional.cross_entropy(before, yt)


def test_maximise_caps_each_image_not_the_batch_mean():
    per_image = torch.tensor([50.0, 1.0], requires_grad=True)
    loss = poison_loss(torch.tensor(0.0), per_image, 1.0, "maximise", bound=10.0)
    assert loss.item() == pytest.approx(-(10.0 + 1.0) / 2)
    loss.backward()
    assert per_image.grad.tolist() == [0.0, -0.5]  # only the image under the cap is pushed


def test_temperature_is_fitted_on_aux_images_held_out_of_poisoning():
    from types import SimpleNamespace

    from tasks.backdoor_classifier.poison import calibration_split

    aux = Images(np.arange(10, dtype=np.float32), np.arange(10))
    same, none = calibration_split(aux, SimpleNamespace(calibrate=False, calibration_images=3))
    assert same is aux and none is None
    fit, cal = calibration_split(aux, SimpleNamespace(calibrate=True, calibration_images=3))
    assert list(fit.y) == list(range(7)) and list(cal.y) == [7, 8, 9]
    with pytest.raises(ValueError, match="poison.calibration_images"):
        calibration_split(aux, SimpleNamespace(calibrate=True, calibration_images=10))
