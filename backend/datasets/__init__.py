"""Datasets: one module per dataset (digits, CIFAR-10, CIFAR-100, ImageNet, ImageFolder...), each defining `DATASET`.

An entry describes its dataset and nothing here touches the data's bytes beyond checking that the files are
where a study says: its name (what `DatasetSpec.name` and a study's `dataset` JSON hold), label and help text
(the API's GET /api/datasets, the dashboard's menu, the CLI's help), its class count (None: counted from the
data, as ImageFolder's class folders), its default training resolution, whether it needs a path (and which
files must be under it), and the per-channel normalisation on the 0-255 scale. Importing a population that
names a dataset takes its default resolution and class count from here too.

The torch side lives in workers/ (`workers.data.LOADERS`), looked up by the entry's `loader`: several
datasets share one loader when they share a layout (CIFAR-10 and CIFAR-100 are both pickle batches). The
dependency points one way: workers import this registry, never the reverse, so the API and the pure layers
describe and validate datasets without torch.

Adding a dataset is one module here (plus its test); a dataset in a new on-disk layout also adds its loader
to workers.data.LOADERS. See DEVELOPERS.md, "Extension axes".
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from backend.fielderrors import InvalidField
from backend.registry import Registry

#: where datasets may be read from: NETSPACE_DATA_ROOTS (a path-separator list), default the working directory and
#: the compose file's read-only mount
DATA_ROOTS_ENV = "NETSPACE_DATA_ROOTS"
DEFAULT_DATA_ROOTS = (".", "/data")


def data_roots(env: Mapping[str, str] | None = None) -> tuple[Path, ...]:
    """The configured data roots, resolved (read on every call: a worker and the server each read their own)."""
    env = os.environ if env is None else env
    text = env.get(DATA_ROOTS_ENV, "")
    parts = [p for p in text.split(os.pathsep) if p.strip()] if text.strip() else list(DEFAULT_DATA_ROOTS)
    return tuple(Path(p.strip()).expanduser().resolve() for p in parts)


class Dataset:
    """A dataset (see the module doc); subclass it in one module of this package as `DATASET`."""

    name: ClassVar[str]
    label: ClassVar[str]
    help: ClassVar[str]
    order: ClassVar[int] = 50
    #: the workers' loader that reads it (a key of workers.data.LOADERS)
    loader: ClassVar[str]
    #: number of classes; None: counted from the data (class folders under train/)
    classes: ClassVar[int | None]
    #: default training (and complexity) resolution, px
    im_size: ClassVar[int]
    needs_path: ClassVar[bool] = True
    #: an example path, for forms and help
    path_hint: ClassVar[str] = ""
    #: files or folders that must exist under the path
    required: ClassVar[tuple[str, ...]] = ()
    #: per-channel mean and std on the 0-255 scale (RGB); None: computed from the training split
    mean: ClassVar[tuple[float, ...] | None] = None
    std: ClassVar[tuple[float, ...] | None] = None

    def check_path(self, path: str | None) -> None:
        """Raise InvalidField('path') when `path` cannot name this dataset's data (no file system access)."""
        if not self.needs_path:
            if path is not None:
                raise InvalidField("path", f"dataset '{self.name}' takes no path ({self.help})")
            return
        if not path:
            raise InvalidField("path", f"required for dataset '{self.name}' (e.g. {self.path_hint})")
        if "\x00" in path:
            raise InvalidField("path", "must not contain NUL bytes")
        if ".." in Path(path).parts:
            # a study's path is read by every worker; climbing out of where it says is never what a lab means
            raise InvalidField("path", "must not contain '..' components (give the dataset's own directory)")

    def root(self, path: str | None, roots: Sequence[Path] | None = None) -> Path:
        """The dataset's directory, resolved (symlinks included) and inside one of the data roots; else the one
        error `check_exists` gives for a missing dataset."""
        roots = data_roots() if roots is None else roots
        resolved = Path(path or "").expanduser().resolve()
        if not any(resolved.is_relative_to(r) for r in roots):
            raise self._not_found(path, roots)
        return resolved

    def check_exists(self, path: str | None, roots: Sequence[Path] | None = None) -> None:
        """Raise InvalidField('path') when the data is not inside the data roots or not there.

        Both cases give the same message, so the check cannot be used to learn which paths exist on the host
        outside the roots (a study's path is checked with the API server's own permissions)."""
        if not self.needs_path:
            return
        roots = data_roots() if roots is None else roots
        root = self.root(path, roots)
        if not all((root / r).exists() for r in self.required):
            raise self._not_found(path, roots)

    def _not_found(self, path: str | None, roots: Sequence[Path]) -> InvalidField:
        places = os.pathsep.join(map(str, roots))
        needs = ", ".join(self.required)
        return InvalidField("path", f"dataset '{self.name}' not found at {path} (needs {needs}) under the data "
                                    f"roots {places} (NETSPACE_DATA_ROOTS)", f"a directory under {places}")

    def num_classes(self, path: str | None) -> int:
        """The class count: the entry's own, else the class folders under train/ (0 when there are none)."""
        if self.classes is not None:
            return self.classes
        train = self.root(path) / "train"
        return sum(1 for p in train.iterdir() if p.is_dir()) if train.is_dir() else 0

    def describe(self) -> dict[str, Any]:
        """What GET /api/datasets tells the dashboard."""
        return {"name": self.name, "label": self.label, "help": self.help, "loader": self.loader,
                "classes": self.classes, "im_size": self.im_size, "needs_path": self.needs_path,
                "path_hint": self.path_hint, "required": list(self.required)}


class PickleBatches(Dataset):
    """The `cifar-*-python` layout: Python pickles of {b'data': (N, 3072) uint8 RGB planes, <label key>: [N]}
    (read by workers.data's pickle-batch loader, one for every dataset of this layout)."""

    loader = "pickle_batches"
    im_size = 32
    train_files: ClassVar[tuple[str, ...]]
    test_file: ClassVar[str]
    #: the label list's key in each pickle (bytes keys, as the Python 2 pickles have)
    label_key: ClassVar[bytes] = b"labels"
    #: train images are mirrored and shifted (pad 4 at 32 px, crop), as pycls augments CIFAR
    flip: ClassVar[bool] = True


DATASETS: Registry[Dataset] = Registry(__name__, "DATASET", "dataset", "name")


def get_dataset(name: str) -> Dataset:
    """The dataset called `name`; an unknown name raises a ValueError listing the datasets."""
    return DATASETS.get(name)


def dataset_names() -> tuple[str, ...]:
    """Every dataset's name, without importing the entries (for DatasetSpec's Literal)."""
    return DATASETS.names()
