#!/usr/bin/env bash
# The GPU figures of the README's performance table, in one run (a few minutes on an H100):
#     bash benchmarks/gpu_check.sh
# It checks the fast path against the plain step on the GPU, then times both at 256 px: the CUDA
# `fast` preset, and the same without compile (to show what compile and CUDA graphs add).
set -euo pipefail
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
python -m pytest -q -p no:cacheprovider tests/test_fast.py
cyclegan-edu bench --size 256 --device cuda
cyclegan-edu bench --size 256 --device cuda --batched-passes --channels-last --precision bf16 --fused-adam
