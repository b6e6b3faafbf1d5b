"""Writes a synthetic ImageFolder of photo-like JPEGs for the loader benches
(`benches/loader.rs` and its PyTorch reference, `benches/torch_loader_bench.py`).

  python3 benches/make_jpeg_folder.py OUT_DIR [--images 2000] [--classes 10] [--width 500]
      [--height 375] [--seed 0] [--quality 90]

Lays out OUT_DIR/<class>/<n>.jpg (classes `class00`, `class01`, ..., images numbered across
the whole folder and dealt round-robin to the classes) and prints the image count and the
total bytes. The data is generated, never committed: rerunning with the same arguments writes
the same files byte for byte (numpy's PCG64 seeded with --seed, one child stream per image;
Pillow's encoder is deterministic for fixed settings).

Why not random pixels: a JPEG of uniform noise is several times larger than a photo and
decodes at a different speed (the entropy decoder dominates), so a loader bench on it would
not say how fast ImageNet-like files load. Each image here is a smooth two-colour gradient at a
random angle, with a few filled ellipses and rectangles in random colours, a low-frequency
brightness wave, a mid-frequency texture and mild Gaussian sensor noise. At 500x375
(ImageNet's most common size) and quality 90 that compresses like a photo: 40-74 KiB, mean
59.4 KiB, over the 2000 images of the defaults (ImageNet's training JPEGs average about
110 KB at a larger mean size, 1.28 million files in about 140 GB).
"""
import argparse
import os

import numpy as np
from PIL import Image, ImageDraw


def render(rng, width, height):
    """One photo-like RGB image as a uint8 array (height, width, 3)."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = (xs * np.cos(angle) + ys * np.sin(angle))
    t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
    c0, c1 = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
    img = c0 * (1 - t[..., None]) + c1 * t[..., None]

    # Shapes with hard edges: the high-frequency content real objects give a photo.
    canvas = Image.fromarray(img.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(canvas)
    for _ in range(rng.integers(3, 9)):
        x0, y0 = rng.uniform(-0.2, 1.0) * width, rng.uniform(-0.2, 1.0) * height
        w, h = rng.uniform(0.05, 0.5) * width, rng.uniform(0.05, 0.5) * height
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        box = [x0, y0, x0 + w, y0 + h]
        if rng.random() < 0.5:
            draw.ellipse(box, fill=fill)
        else:
            draw.rectangle(box, fill=fill)
    img = np.asarray(canvas, dtype=np.float32)

    # Low-frequency shading, a mid-frequency texture (noise at a third of the resolution,
    # upsampled bilinearly: grass, fabric, foliage) and per-pixel sensor noise, whose
    # strengths vary per image so that file sizes spread as a photo collection's do.
    fx, fy = rng.uniform(0.5, 3.0, 2) * 2 * np.pi
    phase = rng.uniform(0, 2 * np.pi)
    wave = 1.0 + 0.15 * np.sin(fx * xs / width + fy * ys / height + phase)
    coarse = rng.normal(0.0, 1.0, (max(height // 3, 1), max(width // 3, 1)))
    coarse = Image.fromarray(coarse.astype(np.float32)).resize((width, height), Image.BILINEAR)
    texture = rng.uniform(8.0, 24.0) * np.asarray(coarse, dtype=np.float32)
    noise = rng.normal(0.0, rng.uniform(4.0, 9.0), img.shape)
    img = img * wave[..., None] + texture[..., None] + noise
    return img.clip(0, 255).astype(np.uint8)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--width", type=int, default=500)
    ap.add_argument("--height", type=int, default=375)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quality", type=int, default=90)
    a = ap.parse_args()
    if a.images < 1 or a.classes < 1 or a.width < 1 or a.height < 1:
        ap.error("--images, --classes, --width and --height must be at least 1")
    if not 1 <= a.quality <= 95:
        ap.error("--quality must be in 1..=95 (Pillow's advice: above 95 only grows the file)")

    names = [f"class{c:02d}" for c in range(a.classes)]
    for name in names:
        os.makedirs(os.path.join(a.out_dir, name), exist_ok=True)
    streams = np.random.SeedSequence(a.seed).spawn(a.images)
    total = 0
    for n, seq in enumerate(streams):
        pixels = render(np.random.default_rng(seq), a.width, a.height)
        path = os.path.join(a.out_dir, names[n % a.classes], f"{n}.jpg")
        Image.fromarray(pixels).save(path, quality=a.quality)
        total += os.path.getsize(path)
    print(f"{a.images} images in {a.classes} classes, {a.width}x{a.height}, quality {a.quality}: "
          f"{total} bytes ({total / a.images / 1024:.1f} KiB each) in {a.out_dir}")


if __name__ == "__main__":
    main()
