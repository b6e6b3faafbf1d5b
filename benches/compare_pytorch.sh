#!/usr/bin/env bash
# One sitting, PyTorch against temper: the reference MLP and CNN training steps (batch 128,
# Adam, 2 threads), then ResNet-20 on 3x32x32 and ResNet-18 on 3x64x64 (batch 64,
# benches/torch_zoo_bench.py), interleaved twice so a change of load or clock speed during the
# sitting affects both alike. torchvision is needed for the second pair.
#
#   python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.15.0 numpy
#   benches/compare_pytorch.sh [/tmp/torchenv/bin/python] [MNIST_DIR]
#
# MNIST_DIR holds the four raw IDX files (default ../shared/data/mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
python="${1:-/tmp/torchenv/bin/python}"
mnist="${2:-../shared/data/mnist}"
cargo bench --bench train_step --no-run 2>/dev/null
bench="$(ls -t "${CARGO_TARGET_DIR:-target}"/release/deps/train_step-* | grep -v '\.d$' | head -n 1)"
for run in 1 2; do
    "$python" ../shared/bench/torch_mnist_bench.py "$mnist" --steps 100 \
        | sed "s/^/pytorch run $run: /"
    "$bench" --bench --noplot --discard-baseline 'train_step/(cnn|mlp)/flex' 2>/dev/null \
        | awk -v run="$run" '/^train_step/ { id = $1 } /thrpt:/ && !/%/ { print "temper run " run ": " id, $4, $5 }'
    "$python" benches/torch_zoo_bench.py | sed "s/^/pytorch run $run: /"
    "$bench" --bench --noplot --discard-baseline 'train_step/resnet(20|18)/flex' 2>/dev/null \
        | awk -v run="$run" '/^train_step/ { id = $1 } /thrpt:/ && !/%/ { print "temper run " run ": " id, $4, $5 }'
done
