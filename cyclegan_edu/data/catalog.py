"""What the authors publish: the CycleGAN datasets, the pretrained generators, where they live.

The datasets (paper Section 5, Appendix 7.1) are zip archives that unpack to
NAME/{trainA,trainB,testA,testB}; the generators are `.pth` state dicts, one direction each. The
authors publish no checksums: every `sha256` below is None, and so is every size nobody recorded;
the recorded sizes are approximate and only refuse files that are wildly off.
"""

from __future__ import annotations

from dataclasses import dataclass

from cyclegan_edu.errors import DownloadError, UserError

MIB = 1 << 20

# The four folders every CycleGAN dataset archive unpacks to.
SPLITS = ("trainA", "trainB", "testA", "testB")


# Base URLs tried in order, https first (plain http only as a fallback); the official download
# scripts moved to this host after people.eecs.berkeley.edu/~taesung_park stopped serving the files.
DATASET_MIRRORS = (
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets",
    "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets",
)


PRETRAINED_MIRRORS = (
    "https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models",
    "http://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models",
)


class UnknownName(UserError, ValueError):
    """A dataset or pretrained generator name that is not in the official lists."""


class DatasetUnavailable(DownloadError):
    """The dataset exists but may not be redistributed, so it must be built by hand."""


@dataclass(frozen=True)
class DatasetInfo:
    """One official CycleGAN dataset: image counts per split and download facts."""

    name: str
    train_a: int
    train_b: int
    test_a: int
    test_b: int
    size_mib: int | None = None  # approximate size of NAME.zip; None where unknown
    paired: bool = False  # A and B images correspond one to one (CycleGAN ignores it)
    note: str = ""
    sha256: str | None = None  # checksum of NAME.zip: the authors publish none, so None
    redistributable: bool = True

    @property
    def counts(self) -> dict[str, int]:
        """Number of images per split folder."""
        return dict(zip(SPLITS, (self.train_a, self.train_b, self.test_a, self.test_b)))

    @property
    def approx_bytes(self) -> int | None:
        """Approximate size of NAME.zip in bytes, or None where unknown."""
        return None if self.size_mib is None else self.size_mib * MIB


@dataclass(frozen=True)
class FileFacts:
    """What is known of one downloadable file before it arrives; None where unknown."""

    approx_bytes: int | None = None  # approximate size: a file under half or over twice it is refused
    sha256: str | None = None  # the authors publish no checksums, so None for their files


PAINTING_NOTE = "B: Flickr landscapes, shared by the four painter sets"


CITYSCAPES_INSTRUCTIONS = """\
Cityscapes cannot be redistributed, so there is no archive to download; build it yourself:
  1. Register at https://www.cityscapes-dataset.com and accept its licence.
  2. Download gtFine_trainvaltest.zip (label maps) and leftImg8bit_trainvaltest.zip (photos)
     from https://www.cityscapes-dataset.com/downloads/ and unzip both.
  3. Run datasets/prepare_cityscapes_dataset.py from the official repository
     (github.com/junyanz/pytorch-CycleGAN-and-pix2pix):
       python prepare_cityscapes_dataset.py --gtFine_dir ./gtFine \\
           --leftImg8bit_dir ./leftImg8bit --output_dir ./datasets/cityscapes
     It resizes every image to 256x256 and pairs each colour label map (*_gtFine_color.png)
     with its photo (*_leftImg8bit.png); the train split becomes trainA/trainB and the val
     split testA/testB.  Note that this script writes the photos to trainA/testA and the
     label maps to trainB/testB; swap the A and B folders if you want A = label maps.
  4. Check that datasets/cityscapes/{trainA,trainB,testA,testB} exist (2975/2975/500/500 images)."""


# The official datasets, by name.  Counts are from the released archives.
DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("horse2zebra", 1067, 1334, 120, 140, 111, note="ImageNet wild horses and zebras"),
        DatasetInfo("apple2orange", 995, 1019, 266, 248, 75, note="ImageNet apples and navel oranges"),
        DatasetInfo("summer2winter_yosemite", 1231, 962, 309, 238, 127, note="Flickr photos of Yosemite"),
        DatasetInfo("monet2photo", 1072, 6287, 121, 751, 291, note=PAINTING_NOTE),
        DatasetInfo("cezanne2photo", 525, 6287, 58, 751, note=PAINTING_NOTE),
        DatasetInfo("ukiyoe2photo", 562, 6287, 263, 751, note=PAINTING_NOTE),
        DatasetInfo("vangogh2photo", 400, 6287, 400, 751, note=PAINTING_NOTE),
        DatasetInfo("facades", 400, 400, 106, 106, 34, paired=True, note="CMP facade label maps and photos"),
        DatasetInfo("maps", 1096, 1096, 1098, 1098, 1434, paired=True, note="600x600 satellite / Google Maps"),
        DatasetInfo("iphone2dslr_flower", 1812, 3325, 569, 480, note="Flickr flower photos, phone vs DSLR"),
        DatasetInfo(
            "cityscapes", 2975, 2975, 500, 500, paired=True,
            note="not redistributable: build it yourself", redistributable=False,
        ),
    )
}


# Names of the official pretrained generators (one direction each).
PRETRAINED_MODELS = (
    "horse2zebra",
    "zebra2horse",
    "monet2photo",
    "style_monet",
    "style_cezanne",
    "style_ukiyoe",
    "style_vangogh",
    "apple2orange",
    "orange2apple",
    "summer2winter_yosemite",
    "winter2summer_yosemite",
    "sat2map",
    "map2sat",
    "facades_label2photo",
    "facades_photo2label",
    "cityscapes_label2photo",
    "cityscapes_photo2label",
    "iphone2dslr_flower",
)


# Each generator is a ResNet with 9 blocks: about 11.4 M float32 parameters, so about 45.5 MB.
PRETRAINED_APPROX_BYTES = 45_500_000


PRETRAINED_FILES: dict[str, FileFacts] = {name: FileFacts(PRETRAINED_APPROX_BYTES) for name in PRETRAINED_MODELS}


def dataset_info(name: str) -> DatasetInfo:
    """Return the table entry for `name`.

    Raises `UnknownName` (a `ValueError`) for an unknown name and `DatasetUnavailable` for a
    dataset that has to be built by hand (Cityscapes).
    """
    if name not in DATASETS:
        raise UnknownName(f"Unknown dataset {name!r}: choose one of {', '.join(DATASETS)}.")
    info = DATASETS[name]
    if not info.redistributable:
        raise DatasetUnavailable(CITYSCAPES_INSTRUCTIONS)
    return info


def dataset_table() -> str:
    """A printable table of the datasets: image counts per split, size and notes."""
    rows = [f"{'name':<24}{'trainA':>7}{'trainB':>7}{'testA':>7}{'testB':>7}{'size':>10}  notes"]
    for info in DATASETS.values():
        size = f"{info.size_mib} MiB" if info.size_mib is not None else "?"
        counts = "".join(f"{count:>7}" for count in info.counts.values())
        note = f"paired; {info.note}" if info.paired else info.note
        rows.append(f"{info.name:<24}{counts}{size:>10}  {note}")
    return "\n".join(rows)


def check_pretrained_name(name: str) -> None:
    """Raise `UnknownName` (a `ValueError`) unless `name` is an official pretrained generator."""
    if name not in PRETRAINED_MODELS:
        raise UnknownName(f"Unknown pretrained model {name!r}: choose one of {', '.join(PRETRAINED_MODELS)}.")


def community_mirrors_hint(name: str) -> str:
    """Point to unofficial copies of the datasets."""
    return (
        f"  - Community copies: Hugging Face datasets huggan/{name} "
        f"(https://huggingface.co/datasets/huggan/{name}) and Kaggle suyashdamle/cyclegan "
        "(https://www.kaggle.com/datasets/suyashdamle/cyclegan). Their layout differs; arrange the "
        f"images as {name}/trainA, trainB, testA, testB yourself."
    )


# torch-fidelity's conversion of the TensorFlow Inception-v3 that FID and KID were defined with
# (Heusel et al. 2017; Binkowski et al. 2018): the weights every published FID uses.
INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"


INCEPTION_MIRRORS = ("https://github.com/toshas/torch-fidelity/releases/download/v0.2.0",)


INCEPTION_FACTS = FileFacts()  # neither its size nor a checksum is recorded here
