"""`cyclegan-edu` (also `python -m cyclegan_edu`): the package's jobs from the command line.

    cyclegan-edu train --preset quick --out runs/quick      the embedded toy dataset, a few minutes on a CPU
    cyclegan-edu train --data datasets/horse2zebra --preset paper --out runs/h2z
    cyclegan-edu resume runs/h2z
    torchrun --nproc-per-node 4 -m cyclegan_edu train --data datasets/horse2zebra --preset paper --out runs/h2z4
    cyclegan-edu translate --checkpoint runs/h2z/checkpoints/latest.pt --input photo.jpg --output out/
    cyclegan-edu download horse2zebra --root datasets      (--list: what there is; --pretrained: generators)
    cyclegan-edu prepare my_photos/ my_paintings/ datasets/mine
    cyclegan-edu evaluate runs/quick [--fid]
    cyclegan-edu ablate --out study
    cyclegan-edu publish [--only 03]                        notebooks/solutions -> notebooks, executed
    cyclegan-edu bench --size 128 --device cpu
    cyclegan-edu grade --grid examples/ablation_grid.yaml --out graded/

Each handler reads its options and calls the package. A mistake the user can fix raises a
`UserError` somewhere below; `main` prints its message as one line, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from cyclegan_edu import __version__
from cyclegan_edu.config import (
    PLAIN_STEP,
    PRESETS,
    RESUME_OVERRIDES,
    STEP_SWITCHES,
    Config,
    ConfigError,
    paper,
    preset,
    smoke_requested,
)
from cyclegan_edu.errors import UserError
from cyclegan_edu.jobs import CLUSTERS, JobOptions

PAPER_DEFAULTS = paper()


# ---- options shared by several commands ----------------------------------------------------------
def add_config_options(parser: argparse.ArgumentParser, names: Sequence[str] | None = None,
                       title: str = "config (any field; default: the preset's value, paper's shown)") -> None:
    """One --option per Config field (or per field in `names`); left out, the preset's value stands."""
    group = parser.add_argument_group(title)
    for field in dataclasses.fields(Config):
        if names is not None and field.name not in names:
            continue
        flag = "--" + field.name.replace("_", "-")
        text = f"{field.metadata.get('help', '')} (paper: {getattr(PAPER_DEFAULTS, field.name)!r})"
        if field.type in (bool, "bool"):
            group.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            kind = {"int": int, "float": float, "str": str}[str(field.type)]
            group.add_argument(flag, dest=field.name, type=kind, default=None, metavar=kind.__name__.upper(), help=text)


def option_parent(*options: tuple[Sequence[str], dict]) -> argparse.ArgumentParser:
    """A parent parser holding `options`, each (flags, add_argument keywords)."""
    parent = argparse.ArgumentParser(add_help=False)
    for flags, keywords in options:
        parent.add_argument(*flags, **keywords)
    return parent


def shared_options() -> dict[str, argparse.ArgumentParser]:
    """The parent parsers of options several commands take."""
    default_preset = "smoke" if smoke_requested() else "quick"
    training = option_parent((["--preset"], dict(choices=list(PRESETS), default=default_preset,
                                                  help="starting settings (default: quick; smoke when "
                                                       "CYCLEGAN_EDU_SMOKE=1)")))
    training.add_argument("--plain-step", action="store_true",
                          help="the plain step of cyclegan.py and the DataLoader's data path: every speed switch "
                               "off (the quick preset turns batched passes and data on the device on)")
    add_config_options(training)
    return {
        "training": training,
        "quiet": option_parent((["--quiet"], dict(action="store_true", help="no progress bars"))),
        "device": option_parent((["--device"], dict(default="auto", help="auto (default: CUDA, then MPS, then "
                                                                          "CPU), cpu, cuda or mps"))),
        "size": option_parent((["--size"], dict(type=int, default=None, help="image size; default: the run's crop "
                                                                             "size, 256 for an official generator"))),
        "jobs": option_parent(
            (["--jobs"], dict(type=int, default=1, help="runs at once (default: 1; on this machine each gets its own "
                                                        "GPU or its share of CPU threads; with --cluster slurm, "
                                                        "1 means all)")),
            (["--cluster"], dict(choices=list(CLUSTERS), default="local",
                                 help="local (this machine) or slurm (one job per run, through submitit)")),
            (["--gpus-per-job"], dict(type=int, default=1, help="Slurm: GPUs per job (default: 1)")),
            (["--time-limit"], dict(type=int, default=24 * 60, help="minutes per job before it is stopped and "
                                                                    "requeued (default: 1440)")),
            (["--partition"], dict(default="", help="Slurm partition (default: the cluster's)")),
            (["--max-requeues"], dict(type=int, default=3, help="requeues per job after preemption or time-out "
                                                                "(default: 3)"))),
    }


def add_run_commands(commands: argparse._SubParsersAction, shared: dict[str, argparse.ArgumentParser]) -> None:
    """train, resume, translate, evaluate: one run and what it produces."""
    training, quiet, device, size = shared["training"], shared["quiet"], shared["device"], shared["size"]
    train = commands.add_parser("train", help="train a new run", parents=[training, quiet])
    train.add_argument("--out", required=True, help="run folder: checkpoints, samples, losses.csv, metrics.json")
    resume = commands.add_parser("resume", help="continue a run from its latest checkpoint", parents=[quiet])
    resume.add_argument("out", help="the run folder given to train --out")
    add_config_options(resume, RESUME_OVERRIDES, "what a resume may change (default: the run's own settings)")
    translate = commands.add_parser("translate", help="translate images with a trained or official generator",
                                    parents=[device, size])
    translate.add_argument("--checkpoint", required=True,
                           help="latest.pt of a run, or an official NAME.pth / latest_net_G_A.pth")
    translate.add_argument("--input", required=True, help="an image or a folder of images")
    translate.add_argument("--output", required=True, help="folder for the translated PNGs")
    translate.add_argument("--direction", choices=["AtoB", "BtoA"], default="AtoB",
                           help="which generator of a training checkpoint (default: AtoB); an official file holds one")
    translate.add_argument("--overwrite", action="store_true", help="replace translations already in --output")
    evaluate = commands.add_parser("evaluate", help="score a run or a generator: ground truth, diversity, FID/KID",
                                   parents=[device, size])
    evaluate.add_argument("target", help="a run folder, its checkpoints/latest.pt, or an official generator .pth "
                                         "(AtoB only)")
    evaluate.add_argument("--data", default=None, help="dataset folder (default: the run's own data)")
    evaluate.add_argument("--fid", action="store_true",
                          help="also FID and KID, with the standard Inception weights (downloaded once)")
    evaluate.add_argument("--json", default=None,
                          help="where to write the results (default: evaluation.json beside the checkpoint)")


def add_data_commands(commands: argparse._SubParsersAction, shared: dict[str, argparse.ArgumentParser]) -> None:
    """download, prepare: the paper's datasets and generators, and your own image folders."""
    download = commands.add_parser("download", help="download one of the paper's datasets or pretrained generators")
    download.add_argument("name", nargs="?", help="dataset name (e.g. horse2zebra), a generator name with "
                                                  "--pretrained, or inception-weights (for FID/KID)")
    download.add_argument("--list", action="store_true", help="list the datasets (with --pretrained: the generators)")
    download.add_argument("--pretrained", action="store_true", help="an official pretrained generator")
    download.add_argument("--root", default=None, help="destination folder (default: datasets/ or pretrained/)")
    download.add_argument("--mirror", action="append", default=None, metavar="BASE_URL",
                          help="base URL to try instead of the built-in list; repeatable")
    prepare = commands.add_parser("prepare", help="turn two folders of your own images into trainA/trainB/testA/testB")
    prepare.add_argument("a_dir", help="folder of domain A images (searched recursively)")
    prepare.add_argument("b_dir", help="folder of domain B images")
    prepare.add_argument("out", help="new folder for trainA/, trainB/, testA/, testB/")
    prepare.add_argument("--test-fraction", type=float, default=0.1, help="share of each domain kept for testing")
    prepare.add_argument("--size", type=int, default=None, help="scale the shorter side to SIZE pixels (e.g. 256)")
    prepare.add_argument("--seed", type=int, default=0, help="seed of the train/test split")


def add_study_commands(commands: argparse._SubParsersAction, shared: dict[str, argparse.ArgumentParser]) -> None:
    """ablate, bench, grade, publish: many runs, timings, and the course's instructors."""
    ablate = commands.add_parser("ablate", help="the paper's ablation study (Table 4 and more), several seeds",
                                 parents=[shared["training"], shared["quiet"], shared["jobs"]])
    ablate.add_argument("--out", required=True, help="study folder: runs/, ablation.csv, ablation.md, ablation.png")
    ablate.add_argument("--seeds", type=int, default=3, help="seeds per variant (default: 3)")
    ablate.add_argument("--variants", default=None, help="comma-separated subset of the variants (default: all)")
    bench = commands.add_parser("bench", help="time the plain training step against the fast one",
                                parents=[shared["device"]])
    bench.add_argument("--size", type=int, choices=[64, 128, 256], default=128, help="image size (default: 128)")
    bench.add_argument("--steps", type=int, default=5, help="timed steps per path, alternating (default: 5)")
    bench.add_argument("--warmup", type=int, default=2, help="untimed steps per path first (default: 2)")
    add_config_options(bench, STEP_SWITCHES, "fast-path switches (any given: exactly these are on; "
                                             "none given: the `fast` preset's for the device)")
    grade = commands.add_parser("grade", help="run notebook 08 once per row of a grid (papermill): results, summary",
                                parents=[shared["jobs"]])
    grade.add_argument("--grid", required=True, help="YAML (a list of {run_id, parameter: value}, or runs:) or CSV "
                                                     "(header run_id,param1,...); see examples/ablation_grid.yaml")
    grade.add_argument("--out", required=True,
                       help="folder for RUN_ID.ipynb, RUN_ID/results.json, summary.csv, summary.md")
    grade.add_argument("--notebook", default=None, help="the notebook to run (default: the repository's "
                                                        "notebooks/solutions/08_full_training.ipynb)")
    grade.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's own)")
    publish = commands.add_parser("publish", help="the student notebooks: solutions stripped (nbgrader), "
                                                  "executed at CPU defaults, outputs kept")
    publish.add_argument("--source", default=None, help="folder of the notebooks with solutions "
                                                        "(default: the repository's notebooks/solutions)")
    publish.add_argument("--out", default=None, help="folder for the published notebooks "
                                                     "(default: the repository's notebooks/)")
    publish.add_argument("--only", action="append", default=[], metavar="NN",
                         help="publish only the notebooks whose names start with NN (repeatable)")
    publish.add_argument("--kernel", default="python3", help="Jupyter kernel name (default: python3)")
    publish.add_argument("--overwrite", action="store_true",
                         help="replace notebooks in --out that this command did not write")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cyclegan-edu",
                                     description="CycleGAN (Zhu et al., ICCV 2017), built to learn from.")
    parser.add_argument("--version", action="version", version=f"cyclegan-edu {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    shared = shared_options()
    for add_commands in (add_run_commands, add_data_commands, add_study_commands):
        add_commands(commands, shared)
    return parser


def config_from_args(args: argparse.Namespace, defaults: dict | None = None) -> Config:
    """The preset, then `defaults` (e.g. an ablation budget), then the options given on the line."""
    overrides = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config) if getattr(args, f.name) is not None}
    plain = PLAIN_STEP if args.plain_step else {}
    return preset(args.preset, **{**(defaults or {}), **plain, **overrides})


# ---- the handlers: read the options, call the package ------------------------------------------
def run_train(args: argparse.Namespace) -> None:
    from cyclegan_edu.distributed import is_main_process
    from cyclegan_edu.training import run_report, train
    metrics = train(config_from_args(args), args.out, progress=not args.quiet)
    if is_main_process():  # under torchrun, one report for all the processes
        print(run_report(args.out, metrics))


def run_resume(args: argparse.Namespace) -> None:
    from cyclegan_edu.distributed import is_main_process
    from cyclegan_edu.training import resume, run_report
    overrides = {name: getattr(args, name) for name in RESUME_OVERRIDES if getattr(args, name) is not None}
    metrics = resume(args.out, progress=not args.quiet, **overrides)
    if is_main_process():
        print(run_report(args.out, metrics))


def run_translate(args: argparse.Namespace) -> None:
    from cyclegan_edu.devices import select_device
    from cyclegan_edu.translation import translate_images
    written = translate_images(args.checkpoint, args.input, args.output, args.direction, args.size,
                               select_device(args.device), overwrite=args.overwrite)
    print(f"translated {len(written)} image(s) into {args.output}")


def run_download(args: argparse.Namespace) -> None:
    from cyclegan_edu.data import cache, catalog, downloads
    if args.list:
        print("\n".join(catalog.PRETRAINED_MODELS) if args.pretrained else catalog.dataset_table())
    elif args.name is None:
        raise ConfigError("give a NAME to download, or --list to see them.")
    elif args.name == "inception-weights":
        print(downloads.download_inception_weights(args.root or cache.weights_dir(), args.mirror))
    elif args.pretrained:
        print(downloads.download_pretrained(args.name, args.root or "pretrained", args.mirror))
    else:
        print(downloads.download_dataset(args.name, args.root or "datasets", args.mirror))


def run_prepare(args: argparse.Namespace) -> None:
    from cyclegan_edu.data.prepare_folders import prepare_custom_dataset
    result = prepare_custom_dataset(args.a_dir, args.b_dir, args.out, args.test_fraction, args.size, args.seed)
    print(f"wrote {result.root}: " + ", ".join(f"{k} {v}" for k, v in sorted(result.counts.items())))
    for path, reason in result.skipped:
        print(f"skipped {path}: {reason}")


def run_evaluate(args: argparse.Namespace) -> None:
    from cyclegan_edu.data import cache
    from cyclegan_edu.devices import select_device
    from cyclegan_edu.evaluation import evaluate_checkpoint, format_table
    from cyclegan_edu.inception import standard_feature_extractor
    from cyclegan_edu.run_folder import RunFolder
    features = standard_feature_extractor(cache.weights_dir()) if args.fid else None
    results = evaluate_checkpoint(args.target, args.data, args.size, features, select_device(args.device))
    print(format_table(results))
    target = Path(args.target)
    beside = RunFolder(target).evaluation if target.is_dir() else target.with_name("evaluation.json")
    output = Path(args.json) if args.json else beside
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {output}")


def job_options(args: argparse.Namespace) -> JobOptions:
    return JobOptions(jobs=args.jobs, cluster=args.cluster, gpus_per_job=args.gpus_per_job, timeout_min=args.time_limit,
                      partition=args.partition, max_requeues=args.max_requeues)


def run_ablate(args: argparse.Namespace) -> None:
    from cyclegan_edu.ablation import BUDGETS, run_ablation, summarize
    if args.seeds < 1:
        raise ConfigError(f"--seeds {args.seeds} must be at least 1.")
    variants = args.variants.split(",") if args.variants else None
    rows = run_ablation(config_from_args(args, BUDGETS.get(args.preset)), Path(args.out), args.seeds, variants,
                        progress=not args.quiet, jobs=job_options(args))
    print(summarize(rows))
    print(f"wrote {Path(args.out) / 'ablation.csv'}, ablation.md and ablation.png")


def run_publish(args: argparse.Namespace) -> None:
    from cyclegan_edu.course import publish
    written = publish.publish(args.source or publish.SOURCE, args.out or publish.PUBLISHED, args.only,
                              kernel_name=args.kernel, overwrite=args.overwrite)
    print(f"published {len(written)} notebook{'s' if len(written) != 1 else ''}")


def run_bench(args: argparse.Namespace) -> None:
    from cyclegan_edu.bench import run_benchmark
    if args.steps < 1 or args.warmup < 0:
        raise ConfigError("--steps must be at least 1 and --warmup at least 0.")
    switches = {name: getattr(args, name) for name in STEP_SWITCHES if getattr(args, name) is not None}
    run_benchmark(args.size, args.device, args.steps, args.warmup, switches=switches or None)


def run_grade(args: argparse.Namespace) -> None:
    from cyclegan_edu.course.grading import grade
    rows = grade(args.grid, args.out, args.notebook, kernel_name=args.kernel, jobs=job_options(args))
    failed = [row["run_id"] for row in rows if row["status"] != "ok"]
    print(f"{len(rows) - len(failed)} ok, {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    print(f"wrote {Path(args.out) / 'summary.csv'} and summary.md")


COMMANDS = {"train": run_train, "resume": run_resume, "translate": run_translate, "download": run_download,
            "prepare": run_prepare, "evaluate": run_evaluate, "ablate": run_ablate,
            "publish": run_publish, "grade": run_grade, "bench": run_bench}


def describe_os_error(error: OSError) -> str:
    """A file-system error on a path the user gave, as one line that says what to do."""
    path = error.filename if error.filename is not None else "a path"
    if isinstance(error, FileExistsError):
        return f"{path} exists and is not a folder this command can use: choose another path."
    if isinstance(error, NotADirectoryError):
        return f"{path}: part of this path is a file, not a folder: choose another path."
    if isinstance(error, IsADirectoryError):
        return f"{path} is a folder where a file was expected: give the file's path."
    if isinstance(error, PermissionError):
        return f"{path}: permission denied: choose a path you can read and write."
    if error.errno == errno.ENOSPC:
        return f"no space left on the device while writing {path}: free some space, then run the command again."
    return f"{error.strerror or error} ({path}): check the path and run the command again."


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; errors the user can fix print one line, not a traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except ConfigError as error:  # a bad option value: a usage error, like argparse's own
        parser.exit(2, f"cyclegan-edu: error: {error}\n")
    except UserError as error:
        parser.exit(1, f"cyclegan-edu: error: {error}\n")
    except OSError as error:  # a path that is a file, a folder without permission, a full disk
        parser.exit(1, f"cyclegan-edu: error: {describe_os_error(error)}\n")
    except KeyboardInterrupt:
        parser.exit(130, "cyclegan-edu: interrupted; run the same command again to continue "
                         "(`cyclegan-edu resume OUT` for training, a download resumes where it stopped)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
