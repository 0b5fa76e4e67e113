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

from pathlib import Path
from typing import Any, ClassVar

from backend.fielderrors import InvalidField
from backend.registry import Registry


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

    def check_exists(self, path: str | None) -> None:
        """Raise InvalidField('path') naming what is missing when the data is not where `path` says."""
        if not self.needs_path:
            return
        root = Path(path or "").expanduser()
        missing = [str(root / r) for r in self.required if not (root / r).exists()]
        if missing:
            raise InvalidField("path", f"dataset '{self.name}' not found at {path} (missing {', '.join(missing)})")

    def num_classes(self, path: str | None) -> int:
        """The class count: the entry's own, else the class folders under train/ (0 when there are none)."""
        if self.classes is not None:
            return self.classes
        train = Path(path or "").expanduser() / "train"
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
