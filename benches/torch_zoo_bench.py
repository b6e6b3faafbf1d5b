"""PyTorch's training steps for the standard architectures of temper's step bench
(`benches/train_step.rs`, `bench_zoo`): ResNet-20 (CIFAR layout, option-B shortcuts, as
crates/temper-model/fixtures/make_fixtures.py builds it) on 3x32x32 and torchvision's ResNet-18
(10 classes) on 3x64x64, batch 64, Adam lr 1e-3, cross-entropy, random pixels, float32 on the CPU.

  python3 benches/torch_zoo_bench.py [--threads 2] [--steps 20]

Prints `NAME: S samples/s (M ms/step ...)`, the median of five timed runs of --steps steps
after three warm-up steps.
"""
import argparse
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, conv1x1


class CifarResNet(nn.Module):
    """chenyaofo/pytorch-cifar-models' ResNet-20 (pytorch_cifar_models/resnet.py)."""

    def __init__(self, layers=(3, 3, 3), num_classes=10):
        super().__init__()
        self.inplanes = 16
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = self._make_layer(16, layers[0], 1)
        self.layer2 = self._make_layer(32, layers[1], 2)
        self.layer3 = self._make_layer(64, layers[2], 2)
        self.fc = nn.Linear(64, num_classes)

    def _make_layer(self, planes, blocks, stride):
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes, stride), nn.BatchNorm2d(planes))
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def bench(name, model, side, batch, steps):
    x = torch.randn(batch * 4, 3, side, side)
    y = torch.randint(0, 10, (batch * 4,))
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    model.train()

    def step(i):
        j = (i * batch) % (len(x) - batch)
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x[j:j + batch]), y[j:j + batch])
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(3):
        step(i)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        for i in range(steps):
            step(i)
        times.append((time.perf_counter() - t) / steps)
    dt = statistics.median(times)
    print(f"{name}: {batch / dt:.1f} samples/s ({dt * 1e3:.1f} ms/step, batch {batch}, "
          f"threads {torch.get_num_threads()}, torch {torch.__version__})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    bench("resnet20", CifarResNet(), 32, 64, a.steps)
    bench("resnet18", torchvision.models.resnet18(num_classes=10), 64, 64, a.steps)


if __name__ == "__main__":
    main()
