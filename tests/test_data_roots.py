"""Datasets load only from the data roots, and CIFAR batches through a restricted unpickler (issue 18, item 9).

A study's dataset path used to be checked and read anywhere on the API host and the workers: the check told
which paths exist, and every CIFAR batch was `pickle.load`ed, so a study naming a crafted file ran its code in
the worker. Now the path must resolve (symlinks included) inside NETSPACE_DATA_ROOTS, with one message for
"outside" and "missing", and batches are read by CifarUnpickler, which resolves only numpy's array globals.
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest

from backend.datasets import data_roots
from backend.study_spec import DatasetSpec
from workers.data import load_dataset, read_cifar_batch


def write_cifar_batches(root: Path, n: int = 20) -> None:
    """The exact cifar-10-batches-py layout: data_batch_1..5 and test_batch, each a pickled dict with bytes keys
    (batch_label, labels, data as (n, 3072) uint8 in RGB planes, filenames), as the published archive has them."""
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"):
        batch = {b"batch_label": name.encode(), b"labels": rng.integers(0, 10, n).tolist(),
                 b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"filenames": [f"{name}_{i}.png".encode() for i in range(n)]}
        with open(root / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)


class _Shell:
    """Unpickles as os.system(command): what a crafted 'batch' file would run with a plain pickle.load."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


def test_a_real_cifar_batch_loads(tmp_path):
    write_cifar_batches(tmp_path / "cifar-10-batches-py")
    data, labels = read_cifar_batch(tmp_path / "cifar-10-batches-py" / "data_batch_3")
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "rb") as f:
        raw = pickle.load(f, encoding="bytes")  # the test's own file: the reference reading
    assert data.shape == (20, 3, 32, 32) and data.dtype == np.uint8
    np.testing.assert_array_equal(data.reshape(20, -1), raw[b"data"])
    assert labels.tolist() == raw[b"labels"]
    for proto in (4, 5):  # a batch saved again by Python 3 (protocol 5 pickles arrays through _frombuffer)
        with open(tmp_path / f"resaved{proto}", "wb") as f:
            pickle.dump(raw, f, protocol=proto)
        np.testing.assert_array_equal(read_cifar_batch(tmp_path / f"resaved{proto}")[0], data)


@pytest.mark.parametrize("payload", ["reduce", "nested", "eval"])
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path, payload):
    marker = tmp_path / "pwned"
    evil = _Shell(f"touch {marker}")
    obj = {"reduce": evil, "nested": {b"data": [evil], b"labels": []},
           "eval": None}[payload]
    path = tmp_path / "data_batch_1"
    if payload == "eval":
        path.write_bytes(b"cbuiltins\neval\n(V__import__('os').system('touch " + str(marker).encode() + b"')\ntR.")
    else:
        path.write_bytes(pickle.dumps(obj, protocol=2))
    with pytest.raises(ValueError, match="refused global"):
        read_cifar_batch(path)
    assert not marker.exists()


@pytest.fixture
def roots(tmp_path, monkeypatch) -> Path:
    """NETSPACE_DATA_ROOTS = two roots under tmp_path (a path-separator list); returns the first."""
    inside, other = tmp_path / "roots" / "a", tmp_path / "roots" / "b"
    inside.mkdir(parents=True)
    other.mkdir(parents=True)
    monkeypatch.setenv("NETSPACE_DATA_ROOTS", os.pathsep.join([str(inside), str(other)]))
    return inside


def test_data_roots_default_and_list(monkeypatch, tmp_path):
    monkeypatch.delenv("NETSPACE_DATA_ROOTS", raising=False)
    assert data_roots() == (Path.cwd().resolve(), Path("/data").resolve())
    monkeypatch.setenv("NETSPACE_DATA_ROOTS", f"{tmp_path}{os.pathsep}{os.pathsep} ~ ")
    assert data_roots() == (tmp_path.resolve(), Path.home().resolve())


def _message(spec: DatasetSpec) -> str:
    with pytest.raises(ValueError) as err:
        spec.check_exists()
    return str(err.value)


def test_outside_the_roots_and_missing_give_one_message(roots, tmp_path):
    outside = tmp_path / "elsewhere" / "cifar"
    write_cifar_batches(outside)
    spec = DatasetSpec(name="cifar10", path=str(outside))
    exists = _message(spec)
    shutil.rmtree(outside)
    assert _message(spec) == exists  # nothing tells whether the path exists outside the roots
    assert "NETSPACE_DATA_ROOTS" in exists and str(roots) in exists
    link = roots / "link"
    write_cifar_batches(outside)
    link.symlink_to(outside)  # a link out of a root is outside too
    assert _message(DatasetSpec(name="cifar10", path=str(link))) == exists.replace(str(outside), str(link))
    write_cifar_batches(roots / "cifar")
    DatasetSpec(name="cifar10", path=str(roots / "cifar")).check_exists()
    src = load_dataset(DatasetSpec(name="cifar10", path=str(roots / "cifar")), 32, "cpu")
    assert (src.num_train, src.num_test) == (100, 20)
    with pytest.raises(ValueError, match="not found"):
        load_dataset(DatasetSpec(name="cifar10", path=str(link)), 32, "cpu")


def test_the_api_refuses_paths_outside_the_roots_alike(server_factory, sqlite_url, tmp_path):
    root = tmp_path / "root"
    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            (root / "folder" / split / cls).mkdir(parents=True)
    srv = server_factory(sqlite_url, NETSPACE_DATA_ROOTS=str(root))
    outside = tmp_path / "outside"
    shutil.copytree(root / "folder", outside)

    def create(path: Path, name: str):
        return srv.client.post("/api/studies", json={"name": name, "space": "RegNetX",
                                                     "dataset": {"name": "imagefolder", "path": str(path)}})

    answers = [create(outside, "a"), create(tmp_path / "never-made", "b"), create(Path("/etc"), "c")]
    for r in answers:
        assert r.status_code == 422, r.text
        item = r.json()["detail"][0]
        assert item["field"] == "dataset.path" and item["allowed"] == f"a directory under {root}", item
    texts = [r.json()["detail"][0]["msg"].replace(p, "<path>")
             for r, p in zip(answers, (str(outside), str(tmp_path / "never-made"), "/etc"), strict=True)]
    assert texts[0] == texts[1] == texts[2]
    ok = create(root / "folder", "inside")
    assert ok.status_code == 201, ok.text
