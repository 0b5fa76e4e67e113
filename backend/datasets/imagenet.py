"""ImageNet (ILSVRC-2012) in the ImageFolder layout (train/<class>/*, val/<class>/*), 1,000 classes at 224 px: the
paper's dataset, read by the ImageFolder loader. Populations imported from NDS or pycls sweeps that say
"imagenet" take their default resolution and class count from here."""

from __future__ import annotations

from . import Dataset


class ImageNet(Dataset):
    name = "imagenet"
    label = "ImageNet (train/ and val/, 1,000 classes)"
    help = "ILSVRC-2012 as an ImageFolder tree: train/<class>/ and val/<class>/, 1,000 classes at 224 px"
    order = 30
    loader = "imagefolder"
    classes = 1000
    im_size = 224
    path_hint = "/data/imagenet"
    required = ("train", "val")
    mean = (0.485 * 255, 0.456 * 255, 0.406 * 255)  # the usual ImageNet statistics, RGB
    std = (0.229 * 255, 0.224 * 255, 0.225 * 255)


DATASET = ImageNet()
