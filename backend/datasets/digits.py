"""scikit-learn's handwritten digits: 1,797 8x8 grey images of 10 classes, bundled with scikit-learn, split 80/20
with a fixed seed by the workers' loader; upsampled to 32 px, so a real study trains in minutes on a CPU."""

from __future__ import annotations

from . import Dataset


class Digits(Dataset):
    name = "digits"
    label = "digits (scikit-learn, bundled)"
    help = "scikit-learn's 8x8 handwritten digits, 10 classes; bundled, so no path"
    order = 0
    loader = "digits"
    classes = 10
    im_size = 32
    needs_path = False


DATASET = Digits()
