"""CIFAR-100 in its `cifar-100-python` layout: one `train` pickle (50,000 images) and one `test` pickle (10,000), 32 px,
100 fine classes (`b"fine_labels"`; the 20 coarse superclasses are not used). Read by the same pickle-batch loader
as CIFAR-10, with the same augmentation; normalised with CIFAR-100's own training-set channel statistics
(mean 0.5071, 0.4865, 0.4409 and std 0.2673, 0.2564, 0.2762 on the 0-1 scale, as commonly published)."""

from __future__ import annotations

from . import PickleBatches


class Cifar100(PickleBatches):
    name = "cifar100"
    label = "CIFAR-100 (local folder)"
    help = "a cifar-100-python folder (train, test), 100 fine-label classes at 32 px"
    order = 20
    classes = 100
    path_hint = "/data/cifar-100-python"
    train_files = ("train",)
    test_file = "test"
    required = (*train_files, test_file)
    label_key = b"fine_labels"
    mean = (129.3, 124.1, 112.4)  # 0-255 scale, RGB
    std = (68.2, 65.4, 70.4)


DATASET = Cifar100()
