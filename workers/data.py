"""Training data for workers: digits and CIFAR as device-resident tensors, ImageFolder through a DataLoader.

Nothing is downloaded at run time. Small datasets (digits, CIFAR-10/100) are loaded once into tensors on the
training device and every batch is gathered, normalised and augmented there with batched tensor ops, so a
small model on a GPU is never starved by Python data loading. ImageFolder trees are decoded with Pillow in
DataLoader worker processes (torchvision is deliberately not a dependency).

Every source yields (images, labels) already on the device: float32 NCHW, normalised, labels int64.
All randomness (shuffling, augmentation) comes from the seed passed per epoch, so the same seed gives the
same batches, and one loaded source can be reused by many jobs (a worker keeps it between jobs).

What a dataset is (classes, files, normalisation) is its entry in backend.datasets; `LOADERS` maps an entry's
`loader` to the function here that reads that layout, so a dataset in a known layout needs no code here.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from backend.datasets import Dataset, PickleBatches
from backend.fielderrors import InvalidField
from backend.study_spec import DatasetSpec

Batch = tuple[torch.Tensor, torch.Tensor]

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".ppm", ".tif", ".tiff"})
# The digits split is frozen in a file (every study and machine sees the same split): scikit-learn's
# train_test_split(test_size=0.2, stratify=target, random_state=0), made once; tests/test_training.py remakes it.
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0
DIGITS_SPLIT_FILE = Path(__file__).with_name("digits_split.json")
# scikit-learn ships the digits as this CSV (64 pixels then the label per row); load_digits reads the same file
DIGITS_CSV = ("datasets", "data", "digits.csv.gz")


class DataSource(Protocol):
    """What the trainer needs from a dataset."""

    num_classes: int
    im_size: int

    @property
    def num_train(self) -> int: ...

    @property
    def num_test(self) -> int: ...

    @property
    def device(self) -> torch.device: ...

    def train_batches(self, batch_size: int, seed: int) -> Iterator[Batch]:
        """One epoch of shuffled, augmented batches (drop_last, as pycls); `seed` fixes order and augmentation
        (the trainer passes one per (job seed, epoch)), so a loaded source can serve many jobs."""

    def test_batches(self, batch_size: int) -> Iterator[Batch]:
        """The whole test set in order, normalised, not augmented."""

    def example_batch(self, n: int) -> torch.Tensor:
        """n normalised test images on the device (repeated if the test set is smaller), for timing."""


# --------------------------------------------------------------------------------------------------
# Batched on-device augmentation

def random_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Mirror each image left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], device=x.device, generator=gen) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def random_pad_crop(x: torch.Tensor, pad: int, gen: torch.Generator) -> torch.Tensor:
    """Zero-pad `pad` pixels per side, then crop back to H×W at a per-image offset in 0..2·pad-1
    (pycls draws randint(0, 2·pad), so the offset 2·pad is never chosen). One gather for the batch."""
    b, _, h, w = x.shape
    padded = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad, (b,), device=x.device, generator=gen)
    ox = torch.randint(0, 2 * pad, (b,), device=x.device, generator=gen)
    rows = (oy[:, None] + torch.arange(h, device=x.device))[:, :, None]  # (B, H, 1)
    cols = (ox[:, None] + torch.arange(w, device=x.device))[:, None, :]  # (B, 1, W)
    batch_idx = torch.arange(b, device=x.device)[:, None, None]
    # advanced indices around the channel slice give (B, H, W, C); the permuted view is channels_last
    return padded[batch_idx, :, rows, cols].permute(0, 3, 1, 2)


def make_generator(device: torch.device, seed: int) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    return gen


@dataclass
class TensorSource:
    """A dataset held as raw tensors on the device; batches are gathered, resized, normalised and
    augmented there. `x_*` keep their stored dtype (uint8 for CIFAR: 4× less device memory)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    mean: torch.Tensor  # (1, C, 1, 1) on the stored scale
    std: torch.Tensor
    num_classes: int
    im_size: int
    flip: bool
    pad: int

    @property
    def num_train(self) -> int:
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        return int(self.x_test.shape[0])

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        x = (x.float() - self.mean) / self.std
        if x.shape[-1] != self.im_size or x.shape[-2] != self.im_size:
            x = F.interpolate(x, size=(self.im_size, self.im_size), mode="bilinear", align_corners=False)
        if x.shape[1] == 1:  # grey: replicate to the 3 input channels every stem expects
            x = x.expand(-1, 3, -1, -1).contiguous()
        return x

    def train_batches(self, batch_size: int, seed: int) -> Iterator[Batch]:
        gen = make_generator(self.device, seed)
        order = torch.randperm(self.num_train, device=self.x_train.device, generator=gen)
        for start in range(0, self.num_train - batch_size + 1, batch_size):
            idx = order[start:start + batch_size]
            x = self._prepare(self.x_train[idx])
            if self.flip:
                x = random_flip(x, gen)
            if self.pad:
                x = random_pad_crop(x, self.pad, gen)
            yield x, self.y_train[idx]

    def test_batches(self, batch_size: int) -> Iterator[Batch]:
        for start in range(0, self.num_test, batch_size):
            yield self._prepare(self.x_test[start:start + batch_size]), self.y_test[start:start + batch_size]

    def example_batch(self, n: int) -> torch.Tensor:
        idx = torch.arange(n, device=self.x_test.device) % self.num_test
        return self._prepare(self.x_test[idx])


# --------------------------------------------------------------------------------------------------
# digits (scikit-learn) and CIFAR-10/100 (pickle batches)

def digits_csv_path() -> Path:
    """The digits file inside the installed scikit-learn, found without importing it: importing scikit-learn
    (scipy.stats and all) costs a worker process 2 s, reading the 1,797 rows 15 ms."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the digits dataset comes with scikit-learn, which is not installed")
    return Path(next(iter(spec.submodule_search_locations)), *DIGITS_CSV)


@cache
def digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 1,797 8×8 digits (0-16 intensities) as (x_train, x_test, y_train, y_test), split 80/20 stratified."""
    rows = np.loadtxt(digits_csv_path(), delimiter=",", dtype=np.float32)
    images, target = rows[:, :-1].reshape(-1, 1, 8, 8), rows[:, -1].astype(np.int64)  # (N, 1, 8, 8)
    split = json.loads(DIGITS_SPLIT_FILE.read_text())
    train, test = np.asarray(split["train"]), np.asarray(split["test"])
    return images[train], images[test], target[train], target[test]


def load_digits_source(im_size: int, device: torch.device) -> TensorSource:
    """Digits upsampled (bilinear) to im_size on the device, grey replicated to 3 channels, normalised
    with the training split's pixel mean/std. Augmentation is a shift (pad im_size/8, crop) only: a
    mirrored digit is a different glyph, so no flip."""
    x_tr, x_te, y_tr, y_te = digits_split()
    mean, std = float(x_tr.mean()), float(x_tr.std())
    return TensorSource(
        x_train=torch.from_numpy(x_tr).to(device), y_train=torch.from_numpy(y_tr).to(device),
        x_test=torch.from_numpy(x_te).to(device), y_test=torch.from_numpy(y_te).to(device),
        mean=torch.full((1, 1, 1, 1), mean, device=device), std=torch.full((1, 1, 1, 1), std, device=device),
        num_classes=10, im_size=im_size, flip=False, pad=max(1, im_size // 8),
    )


@cache
def _cifar_globals() -> dict[tuple[str, str], object]:
    """Every global a cifar-10-batches-py pickle names: numpy's array reconstruction (under numpy 1's and 2's
    module names; `_frombuffer` for protocol-5 re-saves) and `_codecs.encode` (bytes in a protocol-2 pickle
    written by Python 3). Nothing else: no callable that runs a command, opens a file or imports a module."""
    import codecs

    try:
        from numpy._core import multiarray, numeric
    except ImportError:  # numpy 1
        from numpy.core import multiarray, numeric  # type: ignore[no-redef]
    found: dict[tuple[str, str], object] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                            ("_codecs", "encode"): codecs.encode}
    for package in ("numpy.core", "numpy._core"):
        found[(f"{package}.multiarray", "_reconstruct")] = multiarray._reconstruct
        found[(f"{package}.numeric", "_frombuffer")] = numeric._frombuffer  # type: ignore[attr-defined]
    return found


class CifarUnpickler(pickle.Unpickler):
    """pickle.Unpickler that resolves only the globals of _cifar_globals: a batch file is data, and a pickle
    that names anything else (os.system, builtins.eval, ...) is refused before it can run."""

    def find_class(self, module: str, name: str) -> object:
        found = _cifar_globals().get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"refused global {module}.{name} (a CIFAR-10 batch names only numpy's "
                                         "array reconstruction)")
        return found


def read_cifar_batch(path: Path, label_key: bytes = b"labels") -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR pickle: {b'data': (N, 3072) uint8 in RGB planes, label_key: [N ints]} (b'labels' in CIFAR-10's
    batches, b'fine_labels' in CIFAR-100's), read with the restricted CifarUnpickler (never pickle.load: the
    path comes from a study)."""
    try:
        with open(path, "rb") as f:
            batch = CifarUnpickler(f, encoding="bytes").load()
        if not isinstance(batch, dict):
            raise TypeError(f"a batch is a dict, got {type(batch).__name__}")
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[label_key], dtype=np.int64)
    except FileNotFoundError:
        raise ValueError(f"dataset path: CIFAR batch {path} not found") from None
    except (pickle.UnpicklingError, KeyError, ValueError, EOFError, TypeError) as e:
        raise ValueError(f"dataset path: {path} is not a CIFAR pickle batch ({e})") from None
    if len(labels) != len(data):
        raise ValueError(f"dataset path: {path} has {len(data)} images but {len(labels)} labels")
    return data, labels


def load_cifar_source(ds: PickleBatches, root: Path, im_size: int, device: torch.device) -> TensorSource:
    """A dataset of CIFAR pickle batches (the entry `ds` names the files, the label key, the classes and the
    normalisation) with pycls's flip + pad-4 crop, applied after normalisation (so the zero padding equals the
    mean). Images stay uint8 on the device; im_size other than 32 is resized."""
    train = [read_cifar_batch(root / f, ds.label_key) for f in ds.train_files]
    x_te, y_te = read_cifar_batch(root / ds.test_file, ds.label_key)
    x_tr = np.concatenate([x for x, _ in train])
    y_tr = np.concatenate([y for _, y in train])
    num_classes = int(ds.classes or 0)
    bad = (y_tr < 0) | (y_tr >= num_classes)
    if bad.any() or ((y_te < 0) | (y_te >= num_classes)).any():
        raise ValueError(f"dataset path: {root} has {ds.name} labels outside 0..{num_classes - 1}")
    return TensorSource(
        x_train=torch.from_numpy(x_tr).to(device), y_train=torch.from_numpy(y_tr).to(device),
        x_test=torch.from_numpy(x_te).to(device), y_test=torch.from_numpy(y_te).to(device),
        mean=torch.tensor(ds.mean, device=device).view(1, 3, 1, 1),
        std=torch.tensor(ds.std, device=device).view(1, 3, 1, 1),
        num_classes=num_classes, im_size=im_size, flip=ds.flip, pad=4 * im_size // 32,
    )


# --------------------------------------------------------------------------------------------------
# ImageFolder (Pillow decoding in DataLoader workers)

def find_images(root: Path, classes: list[str] | None = None) -> tuple[list[str], list[tuple[str, int]]]:
    """(class names, [(file, label)]) of an ImageNet-style tree; labels follow sorted train class names."""
    if not root.is_dir():
        raise ValueError(f"dataset path: folder {root} not found")
    found = sorted(p.name for p in root.iterdir() if p.is_dir())
    if classes is None:
        classes = found
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise ValueError(f"dataset path: {root} has classes not in train/: {', '.join(unknown[:5])}")
    index = {c: i for i, c in enumerate(classes)}
    items = [
        (str(p), index[c])
        for c in found
        for p in sorted((root / c).rglob("*"))
        if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
    ]
    if not items:
        raise ValueError(f"dataset path: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) under {root}")
    return classes, items


def random_resized_box(width: int, height: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """Inception crop: area fraction U[0.08, 1], log-uniform aspect ratio in [3/4, 4/3], 10 tries,
    else the largest centred crop within the ratio range. Returns (left, top, right, bottom)."""
    area = width * height
    for _ in range(10):
        target = area * rng.uniform(0.08, 1.0)
        ratio = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
        w = int(round(math.sqrt(target * ratio)))
        h = int(round(math.sqrt(target / ratio)))
        if 0 < w <= width and 0 < h <= height:
            left = int(rng.integers(0, width - w + 1))
            top = int(rng.integers(0, height - h + 1))
            return left, top, left + w, top + h
    ratio = width / height
    if ratio < 3 / 4:
        w, h = width, int(round(width / (3 / 4)))
    elif ratio > 4 / 3:
        w, h = int(round(height * (4 / 3))), height
    else:
        w, h = width, height
    left, top = (width - w) // 2, (height - h) // 2
    return left, top, left + w, top + h


def resize_shorter(img: Image.Image, size: int) -> Image.Image:
    w, h = img.size
    if w <= h:
        return img.resize((size, max(1, round(h * size / w))), Image.Resampling.BILINEAR)
    return img.resize((max(1, round(w * size / h)), size), Image.Resampling.BILINEAR)


def centre_crop(img: Image.Image, size: int) -> Image.Image:
    """Crop size×size with offset ceil((dim - size)/2), as pycls."""
    w, h = img.size
    left, top = math.ceil((w - size) / 2), math.ceil((h - size) / 2)
    return img.crop((left, top, left + size, top + size))


class ImageFolderDataset(torch.utils.data.Dataset):
    """Decodes one image per item with Pillow; returns a uint8 CHW tensor (normalised later, on the device).
    Train randomness comes from a per-(epoch seed, index) generator, so batches do not depend on the
    number of loader workers."""

    def __init__(self, items: list[tuple[str, int]], im_size: int, train: bool) -> None:
        self.items = items
        self.im_size = im_size
        self.train = train
        self.seed = 0  # set per epoch by FolderSource.train_batches
        self.resize = int(round(im_size * 256 / 224))  # 256 for the usual 224 crop

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        path, label = self.items[i]
        with Image.open(path) as raw:
            img = raw.convert("RGB")
        if self.train:
            rng = np.random.default_rng([self.seed, i])
            box = random_resized_box(img.width, img.height, rng)
            img = img.resize((self.im_size, self.im_size), Image.Resampling.BILINEAR, box=box)
            if rng.random() < 0.5:
                img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        else:
            img = centre_crop(resize_shorter(img, self.resize), self.im_size)
        arr = np.asarray(img, dtype=np.uint8)
        return torch.from_numpy(arr.copy()).permute(2, 0, 1), label


class FolderSource:
    """ImageFolder train/ and val/ trees read through DataLoaders with worker processes."""

    def __init__(self, root: Path, im_size: int, device: torch.device, num_workers: int,
                 mean: tuple[float, ...], std: tuple[float, ...], num_classes: int | None = None) -> None:
        self.classes, train_items = find_images(root / "train")
        _, test_items = find_images(root / "val", self.classes)
        if num_classes is not None and len(self.classes) > num_classes:
            raise ValueError(f"dataset path: {root / 'train'} has {len(self.classes)} class folders; "
                             f"this dataset has {num_classes} classes")
        self.num_classes = num_classes or len(self.classes)
        self.im_size = im_size
        self.device = device
        self.num_workers = num_workers
        self.train_set = ImageFolderDataset(train_items, im_size, True)
        self.test_set = ImageFolderDataset(test_items, im_size, False)
        self.num_train, self.num_test = len(train_items), len(test_items)
        self.mean = torch.tensor(mean, device=device).view(1, 3, 1, 1)  # the 0-255 scale, as decoded
        self.std = torch.tensor(std, device=device).view(1, 3, 1, 1)

    def _loader(self, dataset: ImageFolderDataset, batch_size: int, shuffle_seed: int | None,
                drop_last: bool) -> torch.utils.data.DataLoader:
        gen = None
        if shuffle_seed is not None:
            gen = torch.Generator()
            gen.manual_seed(shuffle_seed)
        return torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, shuffle=shuffle_seed is not None, generator=gen,
            num_workers=self.num_workers, pin_memory=self.device.type == "cuda", drop_last=drop_last,
            persistent_workers=False,  # workers re-fork each epoch and so see the current epoch number
        )

    def _to_device(self, x: torch.Tensor, y: torch.Tensor) -> Batch:
        x = x.to(self.device, non_blocking=True).float()
        return (x - self.mean) / self.std, y.to(self.device, non_blocking=True)

    def train_batches(self, batch_size: int, seed: int) -> Iterator[Batch]:
        self.train_set.seed = seed
        for x, y in self._loader(self.train_set, batch_size, seed, drop_last=True):
            yield self._to_device(x, y)

    def test_batches(self, batch_size: int) -> Iterator[Batch]:
        for x, y in self._loader(self.test_set, batch_size, None, drop_last=False):
            yield self._to_device(x, y)

    def example_batch(self, n: int) -> torch.Tensor:
        x = torch.stack([self.test_set[i % self.num_test][0] for i in range(n)])
        return self._to_device(x, torch.zeros(n, dtype=torch.long))[0]


def default_num_workers() -> int:
    return max(1, min(8, (os.cpu_count() or 2) - 1))


def _digits(ds: Dataset, root: Path, im_size: int, device: torch.device, num_workers: int | None) -> DataSource:
    return load_digits_source(im_size, device)


def _pickles(ds: Dataset, root: Path, im_size: int, device: torch.device, num_workers: int | None) -> DataSource:
    if not isinstance(ds, PickleBatches):
        raise TypeError(f"dataset {ds.name}: the pickle_batches loader reads PickleBatches entries only")
    return load_cifar_source(ds, root, im_size, device)


def _folder(ds: Dataset, root: Path, im_size: int, device: torch.device, num_workers: int | None) -> DataSource:
    if ds.mean is None or ds.std is None:
        raise TypeError(f"dataset {ds.name}: the imagefolder loader needs the entry's mean and std")
    return FolderSource(root, im_size, device, default_num_workers() if num_workers is None else num_workers,
                        ds.mean, ds.std, ds.classes)


#: an entry's `loader` (backend.datasets) -> what opens its data: (entry, root, im_size, device, num_workers)
LOADERS: dict[str, Callable[[Dataset, Path, int, torch.device, int | None], DataSource]] = {
    "digits": _digits,
    "pickle_batches": _pickles,
    "imagefolder": _folder,
}


def load_dataset(spec: DatasetSpec, im_size: int, device: torch.device | str = "cpu",
                 num_workers: int | None = None) -> DataSource:
    """Open the study's dataset on `device`. Raises ValueError naming the path when it is missing or bad."""
    device = torch.device(device)
    if not 8 <= im_size <= 1024:
        raise InvalidField("im_size", f"must be in [8, 1024], got {im_size}")
    spec.check_exists()  # inside the data roots (NETSPACE_DATA_ROOTS) and there
    ds = spec.entry()
    return LOADERS[ds.loader](ds, spec.root() if ds.needs_path else Path(), im_size, device, num_workers)
