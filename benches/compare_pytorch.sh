#!/usr/bin/env bash
# One sitting, PyTorch against temper: the reference MLP and CNN training steps (batch 128,
# Adam, 2 threads), then ResNet-20 on 3x32x32 and ResNet-18 on 3x64x64 (batch 64,
# benches/torch_zoo_bench.py), interleaved twice so a change of load or clock speed during the
# sitting affects both alike. torchvision is needed for the second pair.
#
#   python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.15.0 numpy
#   benches/compare_pytorch.sh [--level avx2] [PYTHON] [MNIST_DIR]
#
# MNIST_DIR holds the four raw IDX files (default ../shared/data/mnist).
#
# `--level avx2` measures a CPU without AVX-512 on one that has it, both sides capped:
# PyTorch by ATEN_CPU_CAPABILITY=avx2 and ONEDNN_MAX_CPU_ISA=AVX2; temper by
# TEMPER_CPU_LEVEL=avx2 (its own kernels) and a build without the `x86-v4` feature (Burn's flex
# and the `gemm` crate pick their kernels from the CPU at run time and no variable caps them),
# in a target directory of its own ($AVX2_TARGET_DIR, default `$CARGO_TARGET_DIR-avx2`), so
# the cached default build is not rebuilt. Each side prints the level it ran at.
set -euo pipefail
cd "$(dirname "$0")/.."
level=native
if [ "${1:-}" = "--level" ]; then
    level="$2"
    shift 2
fi
python="${1:-/tmp/torchenv/bin/python}"
mnist="${2:-../shared/data/mnist}"
target="${CARGO_TARGET_DIR:-target}"
build=()
case "$level" in
    native) ;;
    avx2)
        export TEMPER_CPU_LEVEL=avx2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
        target="${AVX2_TARGET_DIR:-$target-avx2}"
        # `-p temper` alone: the workspace's examples depend on temper with its default
        # features, which would turn `x86-v4` back on.
        build=(-p temper --no-default-features)
        ;;
    *)
        echo "--level: expected avx2, got $level" >&2
        exit 2
        ;;
esac
CARGO_TARGET_DIR="$target" cargo bench "${build[@]}" --bench train_step --no-run 2>/dev/null
bench="$(ls -t "$target"/release/deps/train_step-* | grep -v '\.d$' | head -n 1)"
echo "level $level: temper ${TEMPER_CPU_LEVEL:-native} (${build[*]:-x86-v4 on}), pytorch" \
    "$("$python" -c 'import torch; print(torch.backends.cpu.get_cpu_capability())')"
for run in 1 2; do
    "$python" ../shared/bench/torch_mnist_bench.py "$mnist" --steps 100 \
        | sed "s/^/pytorch run $run: /"
    "$bench" --bench --noplot --discard-baseline 'train_step/(cnn|mlp)/flex' 2>/dev/null \
        | awk -v run="$run" '/^train_step/ { id = $1 } /thrpt:/ && !/%/ { print "temper run " run ": " id, $4, $5 }'
    "$python" benches/torch_zoo_bench.py | sed "s/^/pytorch run $run: /"
    "$bench" --bench --noplot --discard-baseline 'train_step/resnet(20|18)/flex' 2>/dev/null \
        | awk -v run="$run" '/^train_step/ { id = $1 } /thrpt:/ && !/%/ { print "temper run " run ": " id, $4, $5 }'
done
