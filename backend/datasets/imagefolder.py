"""Any ImageNet-style tree (train/<class>/*, val/<class>/*): the classes are the class folders under train/,
224 px by default, normalised with ImageNet's statistics."""

from __future__ import annotations

from . import Dataset
from .imagenet import ImageNet


class ImageFolder(Dataset):
    name = "imagefolder"
    label = "ImageFolder (train/ and val/)"
    help = "any ImageNet-style tree: train/<class>/ and val/<class>/; the classes are the folders under train/"
    order = 40
    loader = "imagefolder"
    classes = None
    im_size = 224
    path_hint = "/data/my-images"
    required = ("train", "val")
    mean = ImageNet.mean
    std = ImageNet.std


DATASET = ImageFolder()
