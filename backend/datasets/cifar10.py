"""CIFAR-10 in its `cifar-10-batches-py` layout: data_batch_1..5 (50,000 train images) and test_batch (10,000), 32 px,
10 classes, normalised with pycls's per-channel statistics."""

from __future__ import annotations

from . import PickleBatches


class Cifar10(PickleBatches):
    name = "cifar10"
    label = "CIFAR-10 (local folder)"
    help = "a cifar-10-batches-py folder (data_batch_1..5, test_batch), 10 classes at 32 px"
    order = 10
    classes = 10
    path_hint = "/data/cifar-10-batches-py"
    train_files = tuple(f"data_batch_{i}" for i in range(1, 6))
    test_file = "test_batch"
    required = (*train_files, test_file)
    label_key = b"labels"
    mean = (125.3, 123.0, 113.9)  # pycls, on the 0-255 scale, RGB
    std = (63.0, 62.1, 66.7)


DATASET = Cifar10()
