"""`cyclegan-edu` (also `python -m cyclegan_edu`): train, resume, translate, download.

    cyclegan-edu train --preset quick --out runs/quick      the embedded toy dataset, a few minutes on a CPU
    cyclegan-edu train --data datasets/horse2zebra --preset paper --out runs/h2z
    cyclegan-edu resume runs/h2z
    cyclegan-edu translate --checkpoint runs/h2z/checkpoints/latest.pt --input photo.jpg --output out/
    cyclegan-edu download horse2zebra --root datasets
    cyclegan-edu evaluate runs/quick [--fid]
    cyclegan-edu student-copies notebooks/ student_notebooks/
    cyclegan-edu bench --size 128 --device cpu
    cyclegan-edu grade --grid examples/ablation_grid.yaml --out graded/
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Sequence

from cyclegan_edu import __version__
from cyclegan_edu.config import PRESETS, STEP_SWITCHES, Config, ConfigError, paper, preset, smoke_requested

PAPER_DEFAULTS = paper()


def add_config_options(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None,
                       title: str = "config (any field; default: the preset's value, paper's shown)") -> None:
    """One --option per Config field (or per field in `names`); left out, the preset's value stands."""
    group = parser.add_argument_group(title)
    for field in dataclasses.fields(Config):
        if names is not None and field.name not in names:
            continue
        flag = "--" + field.name.replace("_", "-")
        default = getattr(PAPER_DEFAULTS, field.name)
        text = f"{field.metadata.get('help', '')} (paper: {default!r})"
        if field.type in (bool, "bool"):
            group.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            kind = {"int": int, "float": float, "str": str}[str(field.type)]
            group.add_argument(flag, dest=field.name, type=kind, default=None, metavar=kind.__name__.upper(), help=text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cyclegan-edu", description="CycleGAN (Zhu et al., ICCV 2017), built to learn from.")
    parser.add_argument("--version", action="version", version=f"cyclegan-edu {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a new run")
    train.add_argument("--preset", choices=list(PRESETS), default="smoke" if smoke_requested() else "quick",
                       help="starting settings (default: quick; smoke when CYCLEGAN_EDU_SMOKE=1)")
    train.add_argument("--out", required=True, help="run folder: checkpoints, samples, losses.csv, metrics.json")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_options(train)

    resume = commands.add_parser("resume", help="continue a run from its latest checkpoint")
    resume.add_argument("out", help="the run folder given to train --out")
    resume.add_argument("--quiet", action="store_true", help="no progress bar")

    translate = commands.add_parser("translate", help="translate images with a trained or official generator")
    translate.add_argument("--checkpoint", required=True, help="latest.pt of a run, or an official NAME.pth / latest_net_G_A.pth")
    translate.add_argument("--input", required=True, help="an image or a folder of images")
    translate.add_argument("--output", required=True, help="folder for the translated PNGs")
    translate.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB",
                           help="which generator of a training checkpoint (default: AtoB); an official file holds one")
    translate.add_argument("--size", type=int, default=None, help="resize inputs to SIZE x SIZE; default: the run's crop size, 256 for official files")
    translate.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")

    download = commands.add_parser("download", help="download one of the paper's datasets or pretrained generators")
    download.add_argument("name", help="dataset name (e.g. horse2zebra), a generator name with --pretrained, "
                                       "or inception-weights (for FID/KID)")
    download.add_argument("--root", default=None, help="destination folder (default: datasets/ or pretrained/)")
    download.add_argument("--mirror", action="append", default=None, metavar="BASE_URL", help="base URL to try instead of the built-in list; repeatable")
    download.add_argument("--pretrained", action="store_true", help="download an official pretrained generator")
    evaluate = commands.add_parser("evaluate", help="score a run or a generator: ground truth, diversity, FID/KID")
    evaluate.add_argument("target", help="a run folder, its checkpoints/latest.pt, or an official generator .pth (AtoB only)")
    evaluate.add_argument("--data", default=None, help="dataset folder (default: the run's own data)")
    evaluate.add_argument("--size", type=int, default=None, help="test image size (default: the run's crop size, 256 for official files)")
    evaluate.add_argument("--fid", action="store_true", help="also FID and KID, with the standard Inception weights (downloaded once)")
    evaluate.add_argument("--json", default=None, help="where to write the results (default: evaluation.json beside the checkpoint)")
    evaluate.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")

    ablate = commands.add_parser("ablate", help="the paper's ablation study (Table 4 and more), several seeds")
    ablate.add_argument("--preset", choices=list(PRESETS), default="smoke" if smoke_requested() else "quick",
                        help="base settings (default: quick, with a shorter budget per run; smoke when CYCLEGAN_EDU_SMOKE=1)")
    ablate.add_argument("--out", required=True, help="study folder: runs/, ablation.csv, ablation.md, ablation.png")
    ablate.add_argument("--seeds", type=int, default=3, help="seeds per variant (default: 3)")
    ablate.add_argument("--variants", default=None, help="comma-separated subset of the variants (default: all)")
    ablate.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_options(ablate)

    copies = commands.add_parser("student-copies", help="write the notebooks with exercise solutions cleared (nbgrader)")
    copies.add_argument("source", help="folder of the notebooks with solutions, e.g. notebooks/")
    copies.add_argument("destination", help="new folder for the student copies")

    bench = commands.add_parser("bench", help="time the plain training step against the fast one")
    bench.add_argument("--size", type=int, choices=[64, 128, 256], default=128, help="image size (default: 128)")
    bench.add_argument("--device", default="auto", help="auto (default), cpu, cuda or mps")
    bench.add_argument("--steps", type=int, default=5, help="timed steps per path, alternating (default: 5)")
    bench.add_argument("--warmup", type=int, default=2, help="untimed steps per path first (default: 2)")
    add_config_options(bench, STEP_SWITCHES, "fast-path switches (any given: exactly these are on; "
                                              "none given: the `fast` preset's for the device)")

    grade = commands.add_parser("grade", help="run notebook 08 once per row of a grid (papermill): results and a summary")
    grade.add_argument("--grid", required=True, help="YAML (a list of {run_id, parameter: value}, or runs:) or CSV "
                                                     "(header run_id,param1,...); see examples/ablation_grid.yaml")
    grade.add_argument("--out", required=True, help="folder for RUN_ID.ipynb, RUN_ID/results.json, summary.csv, summary.md")
    grade.add_argument("--notebook", default=None, help="the notebook to run (default: the repository's "
                                                        "notebooks/08_full_training.ipynb)")
    grade.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's own)")
    return parser


def config_from_args(args: argparse.Namespace, defaults: dict | None = None) -> Config:
    """The preset, then `defaults` (e.g. an ablation budget), then the options given on the line."""
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config) if getattr(args, f.name) is not None}
    return preset(args.preset, **{**(defaults or {}), **overrides})


def run_train(args: argparse.Namespace) -> None:
    from cyclegan_edu.training import train
    config = config_from_args(args)
    metrics = train(config, args.out, progress=not args.quiet)
    report(Path(args.out), metrics)


def run_resume(args: argparse.Namespace) -> None:
    from cyclegan_edu.training import resume
    metrics = resume(args.out, progress=not args.quiet)
    report(Path(args.out), metrics)


def report(out: Path, metrics: dict) -> None:
    print(f"run folder: {out}")
    print(f"  samples:     {out / 'samples' / 'latest.png'}")
    print(f"  losses:      {out / 'losses.csv'}")
    print(f"  checkpoint:  {out / 'checkpoints' / 'latest.pt'}")
    if metrics:
        print(f"  metrics:     {out / 'metrics.json'}")
        for direction, scores in metrics.items():
            truth = (f"PSNR {scores['psnr']:.2f} dB (do nothing: {scores['psnr_identity']:.2f} dB), "
                     f"L1 {scores['l1']:.4f} (do nothing: {scores['l1_identity']:.4f}), " if "psnr" in scores else "")
            print(f"  {direction}: {truth}diversity {scores['diversity']:.2f}")


def run_translate(args: argparse.Namespace) -> None:
    import torch
    from torchvision.utils import save_image

    from cyclegan_edu.data import DataError, find_images, load_rgb, test_transform
    from cyclegan_edu.evaluation import to_unit_range
    from cyclegan_edu.official import is_training_checkpoint, load_official_generator
    from cyclegan_edu.training import select_device

    device = select_device(args.device)
    size = args.size
    if size is None:
        state = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
        size = state["config"]["crop_size"] if is_training_checkpoint(state) else 256
    if size <= 0 or size % 4:
        raise DataError(f"--size {size} must be a positive multiple of 4.")
    generator = load_official_generator(args.checkpoint, device=device, direction=args.direction)
    source = Path(args.input)
    if source.is_file():
        inputs, base = [source], source.parent
    else:
        inputs, base = find_images(source), source
        if not inputs:
            raise DataError(f"{source} holds no images to translate.")
    output = Path(args.output)
    with torch.no_grad():
        for path in inputs:
            image = test_transform(load_rgb(path), size).unsqueeze(0).to(device)
            target = (output / path.relative_to(base)).with_suffix(".png")
            target.parent.mkdir(parents=True, exist_ok=True)
            save_image(to_unit_range(generator(image)).cpu(), target)
    print(f"translated {len(inputs)} image(s) into {output}")


def run_download(args: argparse.Namespace) -> None:
    from cyclegan_edu import datasets
    if args.name == "inception-weights":
        path = datasets.download_inception_weights(args.root or weights_dir(), args.mirror)
    elif args.pretrained:
        path = datasets.download_pretrained(args.name, args.root or "pretrained", args.mirror)
    else:
        path = datasets.download_dataset(args.name, args.root or "datasets", args.mirror)
    print(path)


def user_errors() -> tuple[type[Exception], ...]:
    """Errors whose message tells the user what to do: shown as one line, without a traceback."""
    from cyclegan_edu.data import DataError
    from cyclegan_edu.datasets import DownloadError
    from cyclegan_edu.evaluation import FeatureWeightsUnavailable
    from cyclegan_edu.official import CheckpointMismatch
    from cyclegan_edu.training import RunFolderError, TrainingDiverged
    return (DataError, DownloadError, CheckpointMismatch, RunFolderError, TrainingDiverged, FileNotFoundError,
            FileExistsError, FeatureWeightsUnavailable)


def weights_dir() -> Path:
    from cyclegan_edu.toy_dataset import default_cache_dir
    return default_cache_dir() / "weights"


def run_evaluate(args: argparse.Namespace) -> None:
    import json

    import torch

    from cyclegan_edu.evaluation import evaluate_generators, format_table, standard_feature_extractor
    from cyclegan_edu.official import is_training_checkpoint, load_official_generator
    from cyclegan_edu.training import dataset_root, select_device

    target = Path(args.target)
    checkpoint = target / "checkpoints" / "latest.pt" if target.is_dir() else target
    if not checkpoint.is_file():
        raise FileNotFoundError(f"No checkpoint at {checkpoint}: give a run folder or a .pt/.pth file.")
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    config = Config.from_dict(state["config"]) if is_training_checkpoint(state) else None
    directions = ("AtoB", "BtoA") if config else ("AtoB",)
    if args.data is None and config is None:
        raise FileNotFoundError("An official generator file needs --data DIR with testA/ and testB/.")
    root = Path(args.data) if args.data else dataset_root(config)
    size = args.size or (config.crop_size if config else 256)
    device = select_device(args.device)
    translators = {d: load_official_generator(checkpoint, device=device, direction=d) for d in directions}
    features = standard_feature_extractor(weights_dir()) if args.fid else None
    results = evaluate_generators(translators, root, size, features=features, device=device)
    print(format_table(results))
    output = Path(args.json) if args.json else checkpoint.parent / "evaluation.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {output}")


def run_ablate(args: argparse.Namespace) -> None:
    from cyclegan_edu.ablation import BUDGETS, run_ablation, summarize
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds} must be at least 1.")
    config = config_from_args(args, BUDGETS.get(args.preset))
    variants = args.variants.split(",") if args.variants else None
    rows = run_ablation(config, Path(args.out), args.seeds, variants, progress=not args.quiet)
    print(summarize(rows))
    print(f"wrote {Path(args.out) / 'ablation.csv'}, ablation.md and ablation.png")


def run_student_copies(args: argparse.Namespace) -> None:
    from cyclegan_edu.student_copies import write_student_copies
    for path in write_student_copies(args.source, args.destination):
        print(path)


def run_bench(args: argparse.Namespace) -> None:
    from cyclegan_edu.bench import run_benchmark
    if args.steps < 1 or args.warmup < 0:
        raise ConfigError("--steps must be at least 1 and --warmup at least 0.")
    switches = {name: getattr(args, name) for name in STEP_SWITCHES if getattr(args, name) is not None}
    run_benchmark(args.size, args.device, args.steps, args.warmup, switches=switches or None)


def run_grade(args: argparse.Namespace) -> None:
    from cyclegan_edu.grading import grade
    rows = grade(args.grid, args.out, args.notebook, kernel_name=args.kernel)
    failed = [row["run_id"] for row in rows if row["status"] != "ok"]
    print(f"{len(rows) - len(failed)} ok, {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    print(f"wrote {Path(args.out) / 'summary.csv'} and summary.md")


COMMANDS = {"train": run_train, "resume": run_resume, "translate": run_translate, "download": run_download,
            "evaluate": run_evaluate, "ablate": run_ablate, "student-copies": run_student_copies,
            "grade": run_grade, "bench": run_bench}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; errors the user can fix print one line, not a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except ConfigError as error:
        parser.exit(2, f"cyclegan-edu: error: {error}\n")
    except user_errors() as error:
        parser.exit(1, f"cyclegan-edu: error: {error}\n")
    except KeyboardInterrupt:
        parser.exit(130, "cyclegan-edu: interrupted; continue with `cyclegan-edu resume OUT`\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
