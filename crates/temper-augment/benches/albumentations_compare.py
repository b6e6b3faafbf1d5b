"""Albumentations' single-thread images/s for the transforms of `benches/augment.rs`: the
reference temper's CPU ops are measured against (the goal is at least 2x these figures, both
measured on the same CPU).

Same inputs as the Rust bench: 128 synthetic 28x28 gray images, pixel (x, y) of image i =
(x*y + i) % 256, and 32 synthetic 224x224 RGB images, pixel = [(x + i) % 256, y, (x + y) // 2];
uint8, HWC (gray as HxW). Each op is configured as the Rust bench's op (ranges, and the
probability: the Rust bench's `salt-and-pepper` and the pipelines' `hflip` use p = 0.5, every
other op p = 1). Single ops are called directly (`t(image=img)`, no `Compose`, the cheaper
path); the pipelines go through `A.Compose`. One thread: `OMP_NUM_THREADS=1` etc. set before
numpy / cv2 import, and `cv2.setNumThreads(0)`.

Per (op, size): one warm-up pass over the batch, then >= 7 repeats (more, up to 25, until about
0.3 s is spent); each repeat times whole passes over the batch; the figure is the median
repeat's images/s. Two figures: `img_per_s_batch` keeps a pass's outputs alive in a list until
the pass ends, as the Rust bench's `augment_batch` returns a `Vec` of the batch (the
comparable figure: both sides pay for fresh output memory), and `img_per_s_stream` drops each
output at once (albumentations' own benchmark style; the allocator hands back the same hot
buffer, so memory-bound ops look up to ~10x faster at 224x224). Output: CSV on stdout
(`op,size,albu_transform,img_per_s_batch,min,max,img_per_s_stream`).

Commands (run on a shared 2-vCPU VM under load, hence the interleaving described below):

    pip install albumentations opencv-python-headless
    # -> albumentations 2.0.8, albucore 0.0.24, opencv-python-headless 5.0.0.93 (cv2 5.0.0),
    #    numpy 2.4.6, scipy 1.17.1, CPython 3.11.7
    NO_ALBUMENTATIONS_UPDATE=1 python3 crates/temper-augment/benches/albumentations_compare.py \
        > /tmp/albu.csv
    # temper's side, 1-thread rows (`op/*` runs on a 1-thread rayon pool; the pipelines'
    # 1-thread ids are `cpu/{typical,standard}/{gray28,rgb224}/threads1`):
    cargo bench --bench augment -- --warm-up-time 1 --measurement-time 3 'op/|cpu/.*/threads1'
    # (run as the built binary, target/release/deps/augment-<hash> --bench <same args>, copied
    # aside so a concurrent rebuild could not swap it; the bench's own group settings, 0.3 s
    # warm-up, 1 s measurement, 10 samples, override the two time flags). The figure per id is
    # criterion's middle `thrpt` estimate, and the reported value the median over 11 runs
    # interleaved with 4 runs of this script (temper, albu, temper, albu, ...).

Later rounds (README): whole runs of the bench binary and of this script, alternated three
times; and, because a shared VM's speed drifts over minutes, op by op: the bench binary on a few
ids, then `--only OP` for each, four times.

Optional arguments: `--repeats N` (default 7), `--only SUBSTRING` (run the ops whose name
contains it: `--only scale` also runs `grayscale`).
"""

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

cv2.setNumThreads(0)
warnings.filterwarnings("ignore")

import albumentations as A  # noqa: E402

LIN = cv2.INTER_LINEAR
CONST = cv2.BORDER_CONSTANT


def images(rgb, side, n):
    y, x = np.mgrid[0:side, 0:side].astype(np.uint32)
    out = []
    for i in range(n):
        if rgb:
            img = np.stack([(x + i) % 256, y % 256, ((x + y) // 2) % 256], axis=-1)
        else:
            img = (x * y + i) % 256
        out.append(np.ascontiguousarray(img.astype(np.uint8)))
    return out


def ops(side):
    """(temper op name, albumentations transform, label) for an input of side x side."""
    s = side
    rows = [
        ("hflip", A.HorizontalFlip(p=1), "HorizontalFlip"),
        ("vflip", A.VerticalFlip(p=1), "VerticalFlip"),
        (
            "rotate",
            A.Rotate(limit=15, interpolation=LIN, border_mode=CONST, fill=0, p=1),
            "Rotate(15,LINEAR,CONSTANT)",
        ),
        (
            "translate",
            A.Affine(translate_percent=(-0.1, 0.1), interpolation=LIN, border_mode=CONST, p=1),
            "Affine(translate 0.1)",
        ),
        (
            "scale",
            A.Affine(scale=(0.9, 1.1), interpolation=LIN, border_mode=CONST, p=1),
            "Affine(scale 0.9-1.1)",
        ),
        (
            "shear",
            A.Affine(shear={"x": (-10, 10), "y": (0, 0)}, interpolation=LIN, border_mode=CONST, p=1),
            "Affine(shear x 10)",
        ),
        (
            "affine",
            A.ShiftScaleRotate(
                shift_limit=0.1, scale_limit=0.1, rotate_limit=15, interpolation=LIN,
                border_mode=CONST, p=1,
            ),
            "ShiftScaleRotate(0.1,0.1,15)",
        ),
        (
            "random-crop",
            A.Compose([A.Pad(padding=4, border_mode=CONST, fill=0), A.RandomCrop(s, s)]),
            "Compose[Pad(4),RandomCrop]",
        ),
        (
            "random-crop/pad-if-needed",
            A.Compose(
                [A.PadIfNeeded(s + 8, s + 8, border_mode=CONST, fill=0), A.RandomCrop(s, s)]
            ),
            "Compose[PadIfNeeded(+8),RandomCrop]",
        ),
        (
            "random-resized-crop",
            A.RandomResizedCrop(size=(s, s), scale=(0.8, 1.0), interpolation=LIN, p=1),
            "RandomResizedCrop(0.8-1,LINEAR)",
        ),
        (
            "brightness",
            A.ColorJitter(brightness=0.4, contrast=0, saturation=0, hue=0, p=1),
            "ColorJitter(brightness=0.4)",
        ),
        (
            "brightness/rbc",
            A.RandomBrightnessContrast(brightness_limit=0.4, contrast_limit=0, p=1),
            "RandomBrightnessContrast(b=0.4)",
        ),
        (
            "contrast",
            A.ColorJitter(brightness=0, contrast=0.4, saturation=0, hue=0, p=1),
            "ColorJitter(contrast=0.4)",
        ),
        (
            "contrast/rbc",
            A.RandomBrightnessContrast(brightness_limit=0, contrast_limit=0.4, p=1),
            "RandomBrightnessContrast(c=0.4)",
        ),
        (
            "saturation",
            A.ColorJitter(brightness=0, contrast=0, saturation=0.4, hue=0, p=1),
            "ColorJitter(saturation=0.4)",
        ),
        (
            "hue",
            A.ColorJitter(brightness=0, contrast=0, saturation=0, hue=0.1, p=1),
            "ColorJitter(hue=0.1)",
        ),
        (
            "hue/hsv",
            A.HueSaturationValue(hue_shift_limit=18, sat_shift_limit=0, val_shift_limit=0, p=1),
            "HueSaturationValue(hue=18)",
        ),
        (
            "color-jitter",
            A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1),
            "ColorJitter(0.4,0.4,0.4,0.1)",
        ),
        ("gamma", A.RandomGamma(gamma_limit=(80, 120), p=1), "RandomGamma(80-120)"),
        (
            "gaussian-noise",
            A.GaussNoise(std_range=(0.05, 0.05), mean_range=(0, 0), p=1),
            "GaussNoise(std 0.05)",
        ),
        (
            "salt-and-pepper",
            A.SaltAndPepper(amount=(0.01, 0.06), salt_vs_pepper=(0.4, 0.6), p=0.5),
            "SaltAndPepper(p=0.5)",
        ),
        (
            "gaussian-blur",
            A.GaussianBlur(blur_limit=(3, 3), sigma_limit=(0.1, 2.0), p=1),
            "GaussianBlur(3,0.1-2)",
        ),
        ("sharpness", A.Sharpen(alpha=(0.5, 0.5), lightness=(1, 1), p=1), "Sharpen(kernel 3x3)"),
        ("grayscale", A.ToGray(p=1), "ToGray"),
        ("invert", A.InvertImg(p=1), "InvertImg"),
        ("solarize", A.Solarize(threshold_range=(0.5, 0.5), p=1), "Solarize(128)"),
        ("posterize", A.Posterize(num_bits=4, p=1), "Posterize(4)"),
        ("equalize", A.Equalize(p=1), "Equalize(cv)"),
        ("autocontrast", A.AutoContrast(p=1), "AutoContrast"),
        (
            "random-erasing",
            A.Erasing(scale=(0.02, 0.33), ratio=(0.3, 3.3), fill=0, p=1),
            "Erasing",
        ),
        (
            "random-erasing/coarse-dropout",
            A.CoarseDropout(
                num_holes_range=(1, 1), hole_height_range=(0.1, 0.5),
                hole_width_range=(0.1, 0.5), fill=0, p=1,
            ),
            "CoarseDropout(1 hole)",
        ),
        # temper's `resize` (antialiased: every input pixel counts when shrinking) against
        # OpenCV's antialiased shrink, and `antialias = false` (the 2x2 nearest pixels)
        # against albumentations' default.
        ("resize", A.Resize(32, 32, interpolation=cv2.INTER_AREA), "Resize(32,AREA)"),
        ("resize/no-antialias", A.Resize(32, 32, interpolation=LIN), "Resize(32,LINEAR)"),
    ]
    # `{ op = "random-crop", padding = 2 }, { op = "rotate", degrees = 15 }, { op = "hflip" }`
    typical = A.Compose(
        [
            A.Pad(padding=2, border_mode=CONST, fill=0),
            A.RandomCrop(s, s),
            A.Rotate(limit=15, interpolation=LIN, border_mode=CONST, fill=0, p=1),
            A.HorizontalFlip(p=0.5),
        ],
        seed=7,
    )
    # random-resized-crop [0.8, 1] + hflip + rotate 15 + color-jitter(0.4, 0.4, 0.4, 0.1)
    # + gaussian-noise sigma 0.05
    standard = A.Compose(
        [
            A.RandomResizedCrop(size=(s, s), scale=(0.8, 1.0), interpolation=LIN, p=1),
            A.HorizontalFlip(p=0.5),
            A.Rotate(limit=15, interpolation=LIN, border_mode=CONST, fill=0, p=1),
            A.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, p=1),
            A.GaussNoise(std_range=(0.05, 0.05), mean_range=(0, 0), p=1),
        ],
        seed=7,
    )
    rows.append(("pipeline/typical", typical, "Compose[Pad(2),RandomCrop,Rotate,HFlip(.5)]"))
    rows.append(
        (
            "pipeline/standard",
            standard,
            "Compose[RRC,HFlip(.5),Rotate,ColorJitter,GaussNoise]",
        )
    )
    return rows


def bench(t, imgs, repeats, keep, budget=0.3):
    """Median images/s of `t` over the batch. `keep`: each pass collects the batch's outputs
    in a list, alive until the pass ends, as the Rust bench's `augment_batch` collects a
    `Vec`; otherwise each output is dropped at once (the albumentations benchmark's style,
    where the allocator reuses one hot buffer)."""

    def one_pass():
        if keep:
            outs = [t(image=img)["image"] for img in imgs]
            del outs
        else:
            for img in imgs:
                t(image=img)

    one_pass()  # warm-up
    n = len(imgs)
    start = time.perf_counter()
    one_pass()
    one = time.perf_counter() - start
    passes = max(1, int(0.05 / max(one, 1e-9)))  # each repeat >= ~50 ms
    reps = max(repeats, min(25, int(budget / max(one * passes, 1e-9))))
    rates = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(passes):
            one_pass()
        rates.append(n * passes / (time.perf_counter() - start))
    return statistics.median(rates), min(rates), max(rates)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    np.random.seed(7)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(
        ["op", "size", "albu_transform", "img_per_s_batch", "min", "max", "img_per_s_stream"]
    )
    for size, rgb, side, n in [("gray28", False, 28, 128), ("rgb224", True, 224, 32)]:
        imgs = images(rgb, side, n)
        for name, t, label in ops(side):
            if args.only and args.only not in name:
                continue
            try:
                med, lo, hi = bench(t, imgs, args.repeats, keep=True)
                stream = bench(t, imgs, args.repeats, keep=False)[0]
                out.writerow(
                    [name, size, label, f"{med:.0f}", f"{lo:.0f}", f"{hi:.0f}", f"{stream:.0f}"]
                )
            except Exception as e:  # an op albumentations refuses for this input
                msg = str(e).splitlines()[0][:80]
                out.writerow([name, size, label, "NA", "", f"{type(e).__name__}: {msg}", "NA"])
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
