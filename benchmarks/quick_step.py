"""Milliseconds per training step of the quick preset's networks, or its torch.profiler table.

    python benchmarks/quick_step.py                                   # the quick preset as it is
    python benchmarks/quick_step.py --plain-step --batch-size 1       # the old quick step
    python benchmarks/quick_step.py --threads 1 --profile             # the top operators instead
    python benchmarks/quick_step.py --precision bf16                  # bf16 autocast (fast on AVX-512 BF16)

The step runs on fixed random batches (no data loading), after warm-up steps, so the figure is the
step alone; the README's "The quick run" lists what it measured.
"""

import argparse
import time

import torch
from torch.profiler import ProfilerActivity, profile

from cyclegan_edu.config import PLAIN_STEP, STEP_SWITCHES, preset
from cyclegan_edu.fast import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=None, help="default: the quick preset's")
    parser.add_argument("--plain-step", action="store_true", help="the plain step of cyclegan.py")
    parser.add_argument("--batched-passes", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--precision", choices=("fp32", "bf16"), default=None, help="default: the quick preset's")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print torch.profiler's top operators")
    args = parser.parse_args()

    overrides = dict(PLAIN_STEP) if args.plain_step else {}
    for name in ("batch_size", "batched_passes", "channels_last", "compile", "precision"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    config = preset("quick", **overrides)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model(config, torch.device("cpu"))
    shape = (config.batch_size, 3, config.crop_size, config.crop_size)
    real_a, real_b = torch.rand(shape) * 2 - 1, torch.rand(shape) * 2 - 1
    for _ in range(args.warmup):
        model.train_step(real_a, real_b)
    switches = {name: getattr(config, name) for name in STEP_SWITCHES}
    print(f"{torch.get_num_threads()} threads, batch {config.batch_size}, {switches}")
    if args.profile:
        with profile(activities=[ProfilerActivity.CPU]) as profiler:
            for _ in range(args.steps):
                model.train_step(real_a, real_b)
        print(profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=12, max_name_column_width=45))
        return
    started = time.perf_counter()
    for _ in range(args.steps):
        model.train_step(real_a, real_b)
    milliseconds = (time.perf_counter() - started) / args.steps * 1000
    print(f"{milliseconds:.1f} ms per step, {milliseconds / config.batch_size:.1f} ms per image")


if __name__ == "__main__":
    main()
