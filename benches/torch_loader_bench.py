"""PyTorch's image loader on an ImageFolder, the reference for temper's loader bench
(`benches/loader.rs`): how many training images per second torchvision's DataLoader decodes
and augments with W worker processes, and how much memory that takes, with no model.

  python3 benches/make_jpeg_folder.py /tmp/jpegs        # 2000 photo-like 500x375 JPEGs
  python3 benches/torch_loader_bench.py /tmp/jpegs [--workers 1 2] [--decoder pil tv]
      [--batch 64] [--epochs 2] [--threads 1]

Pipeline, per image: decode, then torchvision's ImageNet training recipe (pytorch/vision
references/classification/presets.py, `ClassificationPresetTrain` with `--backend tensor`
and `use_v2`): RandomResizedCrop(224, antialias=True) with its defaults (scale 0.08-1,
ratio 3/4-4/3, bilinear), RandomHorizontalFlip(0.5), ToDtype(float32, scale=True),
Normalize(ImageNet mean/std). That is the augmentation almost every ImageNet-style training
run uses, so it is the loader work a real run pays per image. Two decoders:
  pil  ImageFolder's default loader (Pillow, converted to RGB) then v2.PILToTensor;
  tv   torchvision.io.read_file + decode_jpeg(mode=RGB) (libjpeg-turbo, straight to a
       uint8 CHW tensor; deprecated in torchvision 0.29 in favour of TorchCodec, still the
       fastest CPU JPEG path torchvision ships).
Both decoders feed the same tensor transforms, so the two lines differ by decoding only.
DataLoader(batch_size=--batch, shuffle=True, num_workers=W, persistent_workers=False), the
default collate; whole epochs are iterated and nothing is done with the batches.

Threads: torch.set_num_threads(--threads) in the main process and in every worker
(worker_init_fn; PyTorch's own worker loop already sets 1, torch/utils/data/_utils/worker.py),
so W workers occupy W cores, as W threads of temper's loader do.

Printed per configuration, each run in a fresh Python process so that peaks don't carry over:
  torch pil workers=2: 812.3 images/s (epochs: 790.1 812.3; median after 1 warm-up epoch ...
images/s is the median over the epochs after the first, which is a warm-up (page cache,
worker start-up, allocator); with --epochs 2 that is the second epoch alone. A new epoch
starts new workers (persistent_workers=False), and that start-up is in every epoch's time.

Memory, sampled every 4 batches from /proc: the main process's peak RSS
(getrusage(RUSAGE_SELF).ru_maxrss), the largest worker's peak RSS (its VmHWM, the same
high-water mark ru_maxrss reads), the peak of the summed RSS of the main process and its live
workers, and the peak of their summed PSS (proportional set size: a page shared by k processes
counts 1/k in each, so torch's libraries and the copy-on-write pages the forked workers share
are counted once rather than W+1 times, as the RSS sum counts them). The PSS sum is the figure
to set against temper's one-process RSS. RUSAGE_CHILDREN is not used: `import torch` runs
`ldconfig -p` (ctypes.util.find_library, via cuda.pathfinder) through vfork+exec, and Linux
gives that child the parent's high-water RSS at exec (about 450 MiB), which hides every
worker's figure below it.
"""
import argparse
from importlib import metadata
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def tv_loader(path):
    """torchvision.io's libjpeg-turbo decode to a uint8 (3, H, W) tensor."""
    from torchvision import io

    with warnings.catch_warnings():
        # The deprecation notice (torchvision 0.29) would print once per worker and epoch.
        warnings.simplefilter("ignore", DeprecationWarning)
        return io.decode_jpeg(io.read_file(path), mode=io.ImageReadMode.RGB)


def make_dataset(root, decoder):
    """The ImageFolder of `root` with the decoder and the ImageNet training transforms."""
    import torch
    from torchvision import datasets
    from torchvision.transforms import v2

    head = [v2.PILToTensor()] if decoder == "pil" else []
    transform = v2.Compose(head + [
        v2.RandomResizedCrop(224, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(MEAN, STD),
    ])
    if decoder == "pil":
        return datasets.ImageFolder(root, transform=transform)
    return datasets.ImageFolder(root, transform=transform, loader=tv_loader)


def memory_kib(pid):
    """(VmRSS, VmHWM, Pss) of process `pid` in KiB from /proc; zeros once it has exited."""
    fields = {}
    try:
        for name in ("status", "smaps_rollup"):
            with open(f"/proc/{pid}/{name}") as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in ("VmRSS", "VmHWM", "Pss"):
                        fields[key] = int(rest.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        return 0, 0, 0
    return fields.get("VmRSS", 0), fields.get("VmHWM", 0), fields.get("Pss", 0)


def worker_pids(it):
    """Process ids of the DataLoader iterator's live workers (none for workers=0)."""
    return [w.pid for w in getattr(it, "_workers", []) if w.pid is not None]


class SetThreads:
    """worker_init_fn that sets the intra-op thread count of each worker (picklable)."""

    def __init__(self, threads):
        self.threads = threads

    def __call__(self, _worker_id):
        import torch

        torch.set_num_threads(self.threads)


def mib(kib):
    """KiB as whole MiB, for printing."""
    return f"{kib / 1024:.0f} MiB"


def run_one(a, decoder, workers):
    """Times --epochs epochs of one configuration and prints its line."""
    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    dataset = make_dataset(a.dir, decoder)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=a.batch, shuffle=True, num_workers=workers,
        persistent_workers=False, worker_init_fn=SetThreads(a.threads) if workers else None)
    rates, peak_rss, peak_pss, worker_hwm = [], 0, 0, 0
    for _ in range(a.epochs):
        images = 0
        start = time.perf_counter()
        it = iter(loader)
        for step, (x, _) in enumerate(it):
            images += x.shape[0]
            if step % 4 == 0:
                main_mem = memory_kib(os.getpid())
                workers_mem = [memory_kib(p) for p in worker_pids(it)]
                peak_rss = max(peak_rss, main_mem[0] + sum(m[0] for m in workers_mem))
                peak_pss = max(peak_pss, main_mem[2] + sum(m[2] for m in workers_mem))
                worker_hwm = max([worker_hwm] + [m[1] for m in workers_mem])
        rates.append(images / (time.perf_counter() - start))
        del it
    timed = rates[1:] if len(rates) > 1 else rates
    main_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    warm = "1 warm-up epoch" if len(rates) > 1 else "no warm-up: --epochs 1"
    print(f"torch {decoder} workers={workers}: {statistics.median(timed):.1f} images/s "
          f"(epochs: {' '.join(f'{r:.1f}' for r in rates)}; median after {warm}; "
          f"{len(dataset)} images, batch {a.batch}, threads {a.threads}); "
          f"peak RSS main {mib(main_kib)}, largest worker {mib(worker_hwm)}, "
          f"main+workers {mib(peak_rss)}; peak PSS main+workers {mib(peak_pss)}; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="ImageFolder root: DIR/<class>/<image>")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--decoder", choices=["pil", "tv"], nargs="+", default=["pil", "tv"])
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if min(a.workers) < 0 or a.batch < 1 or a.epochs < 1 or a.threads < 1:
        ap.error("--workers must be >= 0 and --batch, --epochs, --threads >= 1")
    if a.one:
        run_one(a, a.decoder[0], a.workers[0])
        return
    # No torch here: a child started by vfork+exec inherits this process's peak RSS as its
    # own ru_maxrss, so the driver stays small and each configuration's figures are its own.
    load = os.getloadavg()
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("torch", "torchvision", "pillow"))
    print(f"{versions}; {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f}", flush=True)
    for decoder in a.decoder:
        for workers in a.workers:
            # A fresh process per configuration: ru_maxrss is a high-water mark for life.
            subprocess.run([sys.executable, __file__, a.dir, "--one", "--decoder", decoder,
                            "--workers", str(workers), "--batch", str(a.batch),
                            "--epochs", str(a.epochs), "--threads", str(a.threads)], check=True)


if __name__ == "__main__":
    main()
