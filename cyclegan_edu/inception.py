"""The standard Inception-v3 features of FID and KID (Heusel et al. 2017; Binkowski et al. 2018).

Only the weights every published FID uses (torch-fidelity's conversion of the original TensorFlow
network) give numbers comparable with the literature; without them no FID is reported at all.
torch-fidelity loads the file with `weights_only=False`, so the file is checked to hold plain
tensors first (`data.file_checks.tensor_file_problem`), and replaced by a download when it does not.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from cyclegan_edu.data.catalog import INCEPTION_WEIGHTS_FILE
from cyclegan_edu.data.downloads import download_inception_weights
from cyclegan_edu.data.file_checks import tensor_file_problem
from cyclegan_edu.errors import DownloadError, UserError, require_extra


class FeatureWeightsUnavailable(UserError, RuntimeError):
    """The standard Inception weights for FID/KID are neither on disk nor downloadable."""


def standard_feature_extractor(weights_dir: Path | str, download: bool = True) -> nn.Module:
    """The Inception-v3 FID features of the literature, from `weights_dir` or downloaded there.

    Raises FeatureWeightsUnavailable, saying what to do, when the weights cannot be had, and
    MissingExtra when torch-fidelity (the `fid` extra), which reads them, is not installed.
    """
    require_extra("torch_fidelity", "fid", "FID/KID (cyclegan-edu evaluate --fid)")  # before any download
    from torchmetrics.image.fid import NoTrainInceptionV3

    path = Path(weights_dir) / INCEPTION_WEIGHTS_FILE
    # torch-fidelity loads this file with weights_only=False: only a checked file of plain tensors may reach it.
    problem = tensor_file_problem(path) if path.exists() else "it is missing"
    if problem:
        if not download:
            raise FeatureWeightsUnavailable(f"FID/KID need the standard Inception-v3 weights at {path} ({problem}).")
        try:
            download_inception_weights(weights_dir)  # replaces a file that failed the check, or refuses
        except DownloadError as error:
            raise FeatureWeightsUnavailable(
                f"FID/KID need the standard Inception-v3 weights, which are not at {path} and could not be "
                f"downloaded ({str(error).splitlines()[0]}). Run `cyclegan-edu download inception-weights` on a "
                f"machine with internet, or copy {INCEPTION_WEIGHTS_FILE} into {weights_dir}. No FID is reported "
                "without them: a number from other features would not be comparable with published FIDs."
            ) from error
    return NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                              feature_extractor_weights_path=str(path))
