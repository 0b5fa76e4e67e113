"""Real training on real small data (scikit-learn digits), plus tiny real CIFAR-10 and ImageFolder trees.

Every run here is a real SGD run of a small RegNet on CPU; most use 16² inputs to stay fast on a 2-core
machine, one learns at the default 32².
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch.optim.optimizer import register_optimizer_step_pre_hook

from backend.designspace.complexity import complexity
from backend.designspace.modelspec import parse_model_spec
from backend.study_spec import DatasetSpec, Recipe
from db.queue import result_values
from workers.data import (
    DIGITS_SPLIT_SEED,
    DIGITS_TEST_FRACTION,
    digits_split,
    load_dataset,
    random_pad_crop,
    random_resized_box,
)
from workers.train import EpochMetrics, TrainingError, TrainingStopped, train_model

CIFAR_MEAN = (125.3, 123.0, 113.9)  # pycls's CIFAR-10 statistics, 0-255 scale, RGB
CIFAR_STD = (63.0, 62.1, 66.7)
CIFAR100_MEAN = (129.3, 124.1, 112.4)  # CIFAR-100's training-set statistics, 0-255 scale, RGB
CIFAR100_STD = (68.2, 65.4, 70.4)
IMAGENET_MEAN = (0.485, 0.456, 0.406)  # on the 0-1 scale, RGB
IMAGENET_STD = (0.229, 0.224, 0.225)
SMALL = {"type": "regnet", "depth": 6, "w0": 16, "wa": 16.0, "wm": 2.5, "group_w": 8}
SMALL_SE = {**SMALL, "se_r": 0.25}
DIGITS = DatasetSpec()


def fast_recipe(**kw) -> Recipe:
    return Recipe(**{"epochs": 2, "batch_size": 32, "lr": 0.1, **kw})


# --------------------------------------------------------------------------------------------------
# digits: learning, result contents, determinism, schedule, smoothing, divergence, stop, failures

def test_digits_small_regnet_learns_at_32px():
    seen: list[EpochMetrics] = []
    result = train_model(SMALL_SE, DIGITS, fast_recipe(), seed=3, device="cpu", on_epoch=seen.append)
    assert [m.epoch for m in seen] == [0, 1] and result.epochs == seen
    assert result.error < 45.0, result.test_errors  # chance is 90 %
    assert result.error == min(result.test_errors) and result.error_final == result.test_errors[-1]
    assert not result.diverged and result.device == "cpu"
    assert seen[1].train_loss < seen[0].train_loss
    assert 0 < result.infer_ms < 10_000 and result.train_seconds == pytest.approx(sum(m.seconds for m in seen))
    assert result.num_params == complexity(parse_model_spec(SMALL_SE), 32, 10)["params"]
    json.dumps(result.as_dict(), allow_nan=False)
    stored = result_values(result.as_result())  # what the worker hands to db.queue.complete_job
    assert stored["error"] == result.error and stored["test_error"] == result.test_errors


def test_same_seed_same_run_and_other_seed_differs():
    recipe = fast_recipe(epochs=1)
    a = train_model(SMALL, DIGITS, recipe, seed=7, im_size=16, device="cpu")
    b = train_model(SMALL, DIGITS, recipe, seed=7, im_size=16, device="cpu")
    c = train_model(SMALL, DIGITS, recipe, seed=8, im_size=16, device="cpu")
    assert (a.train_losses, a.test_errors) == (b.train_losses, b.test_errors)
    assert a.train_losses != c.train_losses


def pycls_lr(base: float, e: int, max_epoch: int, warmup_epochs: int, warmup_factor: float) -> float:
    """PYCLS_FACTS §f: cosine with MIN_LR 0, times the linear warmup factor below WARMUP_EPOCHS."""
    lr = base * 0.5 * (1 + math.cos(math.pi * e / max_epoch))
    if e < warmup_epochs:
        a = e / warmup_epochs
        lr *= warmup_factor * (1 - a) + a
    return lr


def test_lr_is_pycls_schedule_set_once_per_epoch():
    recipe = Recipe(epochs=4, batch_size=64, lr=0.2, warmup_epochs=2, warmup_factor=0.1)
    used: list[float] = []
    hook = register_optimizer_step_pre_hook(
        lambda opt, *_: used.append(opt.param_groups[0]["lr"]))
    try:
        result = train_model(SMALL, DIGITS, recipe, seed=1, im_size=16, device="cpu")
    finally:
        hook.remove()
    steps = len(digits_split()[0]) // 64
    expected = [pycls_lr(0.2 * 64 / 128, e, 4, 2, 0.1) for e in range(4)]
    assert [m.lr for m in result.epochs] == pytest.approx(expected)
    assert used == pytest.approx([lr for lr in expected for _ in range(steps)])


def test_label_smoothing_targets():
    """The trainer's smoothed CE equals pycls's soft-target CE, and training really uses it: the smoothed
    loss can never go below the entropy of the smoothed target, which plain CE beats within two epochs."""
    eps, k = 0.5, 10
    logits, y = torch.randn(6, k), torch.randint(0, k, (6,))
    soft = torch.full((6, k), eps / k).scatter_(1, y[:, None], 1 - eps + eps / k)
    pycls = -(soft * logits.log_softmax(1)).sum(1).mean()
    torch.testing.assert_close(F.cross_entropy(logits, y, label_smoothing=eps), pycls)

    floor = -(1 - eps + eps / k) * math.log(1 - eps + eps / k) - (k - 1) * (eps / k) * math.log(eps / k)
    plain = train_model(SMALL, DIGITS, fast_recipe(), seed=2, im_size=16, device="cpu")
    smooth = train_model(SMALL, DIGITS, fast_recipe(label_smoothing=eps), seed=2, im_size=16, device="cpu")
    assert plain.train_losses[-1] < floor < smooth.train_losses[-1]
    assert smooth.error < 60.0


def test_absurd_lr_diverges_into_a_recorded_result():
    seen: list[EpochMetrics] = []
    result = train_model(SMALL, DIGITS, fast_recipe(epochs=5, lr=50.0), seed=1, im_size=16, device="cpu",
                         on_epoch=seen.append)
    assert result.diverged and seen[-1].diverged and len(result.epochs) < 5
    assert seen[-1].train_loss is None
    assert result.error_final == 100.0  # NaN logits predict nothing (module docstring of workers.train)
    assert result.error == min(result.test_errors)
    json.dumps(result.as_dict(), allow_nan=False)
    assert result_values(result.as_result())["diverged"] is True


def test_should_stop_raises_between_steps():
    calls = 0

    def stop_on_fifth() -> bool:
        nonlocal calls
        calls += 1
        return calls >= 5

    with pytest.raises(TrainingStopped):
        train_model(SMALL, DIGITS, fast_recipe(), seed=1, im_size=16, device="cpu", should_stop=stop_on_fifth)
    assert calls == 5


def test_failures_are_clear_training_errors(tmp_path):
    with pytest.raises(TrainingError, match=f"setup: .*{tmp_path / 'nope'}"):
        train_model(SMALL, DatasetSpec(name="cifar10", path=str(tmp_path / "nope")), fast_recipe(), seed=1)
    with pytest.raises(TrainingError, match="batch_size: 4096 is larger than the training set"):
        train_model(SMALL, DIGITS, fast_recipe(batch_size=4096), seed=1, im_size=16, device="cpu")
    bad = {"type": "anynet", "depths": [1], "widths": [24], "strides": [2], "bot_muls": [1.0], "group_ws": [16]}
    with pytest.raises(TrainingError, match=r"^setup: invalid model config: .*group_ws\[0\]: inner width") as err:
        train_model(bad, DIGITS, fast_recipe(), seed=1, device="cpu")
    assert "\n" not in str(err.value)


# --------------------------------------------------------------------------------------------------
# digits source and on-device augmentation

def test_digits_split_is_fixed_and_stratified():
    x_tr, x_te, y_tr, y_te = digits_split()
    # the frozen split is scikit-learn's, made from its own loader, array for array and in the same order
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    data = load_digits()
    theirs = train_test_split(data.images.astype(np.float32)[:, None], data.target, test_size=DIGITS_TEST_FRACTION,
                              stratify=data.target, random_state=DIGITS_SPLIT_SEED)
    for ours, want in zip((x_tr, x_te, y_tr, y_te), theirs, strict=True):
        np.testing.assert_array_equal(ours, want)
    assert x_tr.dtype == np.float32 and y_tr.dtype == np.int64
    assert len(x_tr) + len(x_te) == 1797 and len(x_te) == 360
    assert np.abs(np.bincount(y_te) / len(y_te) - np.bincount(y_tr) / len(y_tr)).max() < 0.01
    src = load_dataset(DIGITS, 32, "cpu")
    x, y = next(src.test_batches(50))
    assert x.shape == (50, 3, 32, 32) and torch.equal(y, torch.from_numpy(y_te[:50]))
    assert torch.equal(x[:, 0], x[:, 2])  # grey replicated
    assert abs(x.mean().item()) < 0.2 and 0.7 < x.std().item() < 1.3


def test_pad_crop_offsets_are_0_to_7_like_pycls():
    x = torch.arange(2000 * 1 * 6 * 6, dtype=torch.float32).view(2000, 1, 6, 6) + 1
    gen = torch.Generator().manual_seed(0)
    out = random_pad_crop(x, 4, gen)
    padded = F.pad(x, (4, 4, 4, 4))
    offsets = set()
    for i in range(0, 2000, 7):
        found = [(oy, ox) for oy in range(9) for ox in range(9)
                 if torch.equal(out[i], padded[i, :, oy:oy + 6, ox:ox + 6])]
        assert len(found) == 1
        offsets.add(found[0])
    assert {o for o, _ in offsets} == set(range(8)) and {o for _, o in offsets} == set(range(8))


def test_random_resized_box_stays_in_image_and_ranges():
    rng = np.random.default_rng(0)
    for w, h in ((500, 375), (64, 64), (30, 200)):
        for _ in range(300):
            left, top, right, bottom = random_resized_box(w, h, rng)
            assert 0 <= left < right <= w and 0 <= top < bottom <= h
            bw, bh = right - left, bottom - top
            if bw * bh < w * h:  # not the fallback: inside the Inception ranges up to integer rounding
                assert bw * bh >= 0.08 * w * h - bw - bh - 1
                assert 3 / 4 - 0.05 <= bw / bh <= 4 / 3 + 0.05 or min(bw, bh) < 20


# --------------------------------------------------------------------------------------------------
# CIFAR-10 and CIFAR-100 pickle batches and ImageFolder trees, written for real in tmp_path

def write_cifar(root, per_batch: int = 40, test: int = 30) -> None:
    """The exact cifar-10-batches-py layout: Python-2 style pickles with bytes keys, uint8 (N, 3072)."""
    root.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [*((f"data_batch_{i}", per_batch) for i in range(1, 6)), ("test_batch", test)]:
        labels = rng.integers(0, 10, n)
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        data[:, :1024] = (labels * 25)[:, None]  # red plane encodes the class: learnable
        batch = {b"batch_label": name.encode(), b"labels": labels.tolist(), b"data": data,
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(n)]}
        with open(root / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)


def test_cifar_batches_load_normalise_and_train_one_epoch(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    spec = DatasetSpec(name="cifar10", path=str(tmp_path / "cifar-10-batches-py"))
    src = load_dataset(spec, 32, "cpu")
    assert (src.num_train, src.num_test, src.num_classes) == (200, 30, 10)
    with open(tmp_path / "cifar-10-batches-py" / "test_batch", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    x, y = next(src.test_batches(30))
    first = torch.from_numpy(raw[b"data"][0].reshape(3, 32, 32).astype(np.float32))
    want = (first - torch.tensor(CIFAR_MEAN).view(3, 1, 1)) / torch.tensor(CIFAR_STD).view(3, 1, 1)
    torch.testing.assert_close(x[0], want)
    assert y.tolist() == raw[b"labels"]
    xb, _ = next(src.train_batches(16, seed=1))
    assert xb.shape == (16, 3, 32, 32) and (xb == 0).any()  # zero padding (= the mean) shows up after crop
    result = train_model(SMALL, spec, Recipe(epochs=1, batch_size=16, lr=0.1), seed=1, device="cpu")
    assert len(result.epochs) == 1 and 0.0 <= result.error <= 100.0 and not result.diverged


def write_cifar100(root, train: int = 120, test: int = 40) -> None:
    """The exact cifar-100-python layout: `train`, `test` and `meta` pickles (protocol 2, bytes keys) with
    b"fine_labels" (0..99) and b"coarse_labels" (0..19) beside uint8 (N, 3072) data."""
    root.mkdir()
    rng = np.random.default_rng(1)
    for name, n in (("train", train), ("test", test)):
        fine = rng.integers(0, 100, n)
        fine[:2] = (0, 99)  # both ends of the label range occur
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        data[:, :1024] = (fine * 2)[:, None]
        batch = {b"filenames": [f"{name}_{i}.png".encode() for i in range(n)], b"batch_label": name.encode(),
                 b"fine_labels": fine.tolist(), b"coarse_labels": (fine // 5).tolist(), b"data": data}
        with open(root / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    with open(root / "meta", "wb") as f:
        pickle.dump({b"fine_label_names": [f"c{i}".encode() for i in range(100)],
                     b"coarse_label_names": [f"s{i}".encode() for i in range(20)]}, f, protocol=2)


def test_cifar100_loads_through_the_cifar_loader_and_trains_one_epoch(tmp_path):
    root = tmp_path / "cifar-100-python"
    write_cifar100(root)
    spec = DatasetSpec(name="cifar100", path=str(root))
    assert (spec.num_classes(), spec.default_im_size()) == (100, 32)
    src = load_dataset(spec, 32, "cpu")
    assert (src.num_train, src.num_test, src.num_classes) == (120, 40, 100)
    with open(root / "test", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    x, y = next(src.test_batches(40))
    assert y.tolist() == raw[b"fine_labels"] and y.tolist() != raw[b"coarse_labels"]
    first = torch.from_numpy(raw[b"data"][0].reshape(3, 32, 32).astype(np.float32))
    want = (first - torch.tensor(CIFAR100_MEAN).view(3, 1, 1)) / torch.tensor(CIFAR100_STD).view(3, 1, 1)
    torch.testing.assert_close(x[0], want)
    xb, _ = next(src.train_batches(16, seed=1))
    assert xb.shape == (16, 3, 32, 32) and (xb == 0).any()  # the same flip + pad-crop augmentation as CIFAR-10
    result = train_model(SMALL, spec, Recipe(epochs=1, batch_size=16, lr=0.1), seed=1, device="cpu")
    assert len(result.epochs) == 1 and 0.0 <= result.error <= 100.0 and not result.diverged
    # a CIFAR-10 folder is not a CIFAR-100 one: the entry names the files it needs
    with pytest.raises(ValueError, match=r"dataset 'cifar100' not found .*needs train"):
        load_dataset(DatasetSpec(name="cifar100", path=str(tmp_path)), 32, "cpu")
    (tmp_path / "bad").mkdir()
    for name in ("train", "test"):  # CIFAR-10-style keys: no fine labels
        with open(tmp_path / "bad" / name, "wb") as f:
            pickle.dump({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]}, f, protocol=2)
    with pytest.raises(ValueError, match="not a CIFAR pickle batch"):
        load_dataset(DatasetSpec(name="cifar100", path=str(tmp_path / "bad")), 32, "cpu")


def write_imagefolder(root, sizes=((40, 30), (64, 48), (33, 70))) -> None:
    colours = {"apple": (200, 30, 30), "grass": (30, 180, 40), "sky": (40, 60, 210)}
    for split, n in (("train", 6), ("val", 2)):
        for cls, colour in colours.items():
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                w, h = sizes[i % len(sizes)]
                Image.new("RGB", (w, h), colour).save(root / split / cls / f"{i}.png")
    (root / "train" / "apple" / "notes.txt").write_text("not an image")


def test_imagefolder_decodes_in_workers_and_trains_one_epoch(tmp_path):
    write_imagefolder(tmp_path / "tree")
    spec = DatasetSpec(name="imagefolder", path=str(tmp_path / "tree"))
    src = load_dataset(spec, 32, "cpu", num_workers=2)
    assert (src.num_train, src.num_test, src.num_classes) == (18, 6, 3)
    x, y = next(src.test_batches(6))
    assert x.shape == (6, 3, 32, 32) and y.tolist() == [0, 0, 1, 1, 2, 2]
    want = (torch.tensor([200, 30, 30]) / 255 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(x[0, :, 5, 7], want)
    two = [b for b in src.train_batches(6, seed=4)]
    src.num_workers = 0
    zero = [b for b in src.train_batches(6, seed=4)]
    assert len(two) == len(zero) == 3
    assert all(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]) for a, b in zip(two, zero, strict=True))
    result = train_model(SMALL, spec, Recipe(epochs=1, batch_size=6, eval_batch_size=4, lr=0.1), seed=1,
                         im_size=32, device="cpu", num_workers=2)
    assert len(result.epochs) == 1 and not result.diverged


# --------------------------------------------------------------------------------------------------

@pytest.mark.gpu
def test_cuda_bf16_channels_last_training():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    result = train_model(SMALL_SE, DIGITS, fast_recipe(), seed=3, device="cuda")
    assert result.device.startswith("cuda:") and not result.diverged
    assert result.error < 45.0 and result.infer_ms > 0
