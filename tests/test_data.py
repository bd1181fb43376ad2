"""The unaligned dataset: preprocessing, seeded order, and a clear error for every bad input."""

import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_edu.data.image_folders import DataError, UnalignedDataset, find_images, load_rgb


def write_image(path, size=(40, 40), mode="RGB", color=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode in ("I;16",):
        Image.fromarray(np.full(size[::-1], 40000, dtype=np.uint16)).save(path)
    else:
        Image.new("RGB", size, color).convert(mode).save(path)
    return path


def make_root(tmp_path, n_a=3, n_b=5, size=(40, 40)):
    for split in ("train", "test"):
        for i in range(n_a):
            write_image(tmp_path / f"{split}A" / f"a{i}.png", size, color=(i * 40, 0, 0))
        for i in range(n_b):
            write_image(tmp_path / f"{split}B" / f"b{i}.jpg", size, color=(0, i * 40, 0))
    return tmp_path


def dataset(root, **kwargs):
    return UnalignedDataset(root, **{"load_size": 36, "crop_size": 32, **kwargs})


def test_items_are_cropped_tensors_in_model_range(tmp_path):
    item = dataset(make_root(tmp_path))[0]
    assert item["A"].shape == item["B"].shape == (3, 32, 32)
    assert item["A"].min() >= -1 and item["A"].max() <= 1
    assert item["A_path"].endswith(".png") and item["B_path"].endswith(".jpg")


def test_epoch_length_is_the_larger_domain(tmp_path):
    assert len(dataset(make_root(tmp_path, n_a=3, n_b=5))) == 5


def test_an_epoch_visits_every_a_image_and_order_depends_only_on_the_seed(tmp_path):
    root = make_root(tmp_path, n_a=5, n_b=3)

    def order(seed, epoch):
        data = dataset(root, seed=seed)
        data.set_epoch(epoch)
        return [(data[i]["A_path"], data[i]["B_path"]) for i in range(len(data))]

    assert sorted(a for a, _ in order(0, 1)) == sorted(str(p) for p in find_images(root / "trainA"))
    assert order(0, 1) == order(0, 1)
    assert order(0, 1) != order(0, 2) and order(0, 1) != order(1, 1)


def test_items_are_reproducible_and_crops_independent_per_domain(tmp_path):
    root = tmp_path
    gradient = np.tile(np.arange(48, dtype=np.uint8)[None, :, None] * 5, (48, 1, 3))
    for split in ("trainA", "trainB", "testA", "testB"):
        (root / split).mkdir()
        Image.fromarray(gradient).save(root / split / "x.png")
    data = UnalignedDataset(root, load_size=48, crop_size=32, flip=False, seed=3)
    assert torch.equal(data[0]["A"], data[0]["A"])  # same (seed, epoch, index), same crop
    same_crop = []
    for epoch in range(12):
        data.set_epoch(epoch)
        item = data[0]
        same_crop.append(torch.equal(item["A"], item["B"]))
    assert not all(same_crop)  # the same picture in A and B is cropped differently: independent draws


def test_test_phase_resizes_without_randomness(tmp_path):
    data = dataset(make_root(tmp_path), phase="test")
    assert torch.equal(data[1]["A"], data[1]["A"]) and data[1]["A"].shape == (3, 32, 32)


@pytest.mark.parametrize("mode", ["L", "LA", "RGBA", "P", "CMYK", "I;16"])
def test_every_image_mode_becomes_rgb(tmp_path, mode):
    suffix = ".jpg" if mode == "CMYK" else ".png"
    image = load_rgb(write_image(tmp_path / f"x{suffix}", mode=mode))
    assert image.mode == "RGB" and image.size == (40, 40)


def test_sixteen_bit_images_are_rescaled_not_clipped(tmp_path):
    pixel = load_rgb(write_image(tmp_path / "deep.png", mode="I;16")).getpixel((0, 0))
    assert pixel == (156, 156, 156)  # 40000 / 65535 * 255


def test_images_are_found_recursively_and_other_files_ignored(tmp_path):
    write_image(tmp_path / "trainA" / "nested" / "deep.webp")
    (tmp_path / "trainA" / "notes.txt").write_text("not an image")
    assert [p.name for p in find_images(tmp_path / "trainA")] == ["deep.webp"]


def test_missing_domain_folder_names_it_and_the_layout(tmp_path):
    make_root(tmp_path)
    for path in (tmp_path / "trainB").iterdir():
        path.unlink()
    (tmp_path / "trainB").rmdir()
    with pytest.raises(DataError, match=r"trainB is missing.*trainA/, trainB/, testA/ and testB/"):
        dataset(tmp_path)


def test_missing_root_is_reported(tmp_path):
    with pytest.raises(DataError, match="does not exist.*download_cyclegan_dataset"):
        dataset(tmp_path / "nowhere")


def test_empty_domain_folder_is_reported(tmp_path):
    make_root(tmp_path)
    (tmp_path / "trainA" / "empty").mkdir()
    for path in (tmp_path / "trainA").glob("*.png"):
        path.unlink()
    with pytest.raises(DataError, match=r"trainA holds no images"):
        dataset(tmp_path)


def test_text_file_named_jpg_is_named_in_the_error(tmp_path):
    make_root(tmp_path)
    (tmp_path / "trainA" / "fake.jpg").write_text("I am text")
    with pytest.raises(DataError, match=r"fake\.jpg.*skip_unreadable"):
        dataset(tmp_path)


def test_truncated_image_is_named_in_the_error(tmp_path):
    make_root(tmp_path)
    good = write_image(tmp_path / "big.png", size=(64, 64))
    (tmp_path / "trainB" / "cut.png").write_bytes(good.read_bytes()[:60])
    with pytest.raises(DataError, match=r"cut\.png"):
        dataset(tmp_path)


def test_skip_unreadable_leaves_them_out_with_one_warning(tmp_path):
    make_root(tmp_path, n_a=3)
    (tmp_path / "trainA" / "bad1.png").write_text("x")
    (tmp_path / "trainA" / "bad2.jpg").write_bytes(b"\x00\x01")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = dataset(tmp_path, skip_unreadable=True)
    messages = [str(w.message) for w in caught if "unreadable" in str(w.message)]
    assert len(messages) == 1 and "bad1.png" in messages[0] and "bad2.jpg" in messages[0]
    assert len(data.paths_a) == 3


def test_image_smaller_than_the_crop_is_reported(tmp_path):
    make_root(tmp_path)
    write_image(tmp_path / "trainA" / "tiny.png", size=(20, 50))
    with pytest.raises(DataError, match=r"tiny\.png is 20x50, smaller than the crop size 32"):
        dataset(tmp_path)


@pytest.mark.parametrize("load, crop, message", [(36, 30, "multiple of 4"), (28, 32, "smaller than crop_size")])
def test_bad_sizes_are_refused(tmp_path, load, crop, message):
    with pytest.raises(DataError, match=message):
        dataset(make_root(tmp_path), load_size=load, crop_size=crop)


def test_bad_phase_is_refused(tmp_path):
    with pytest.raises(DataError, match="'train' or 'test'"):
        dataset(make_root(tmp_path), phase="val")
