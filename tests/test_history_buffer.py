"""The 50-image pool (Section 4): fills first, then returns history half the time, seeded."""

import pytest
import torch

from cyclegan_edu.history_buffer import ImagePool


def fakes(value: float, n: int = 1) -> torch.Tensor:
    return torch.full((n, 1, 2, 2), value)


def test_pool_returns_new_images_while_filling():
    pool = ImagePool(size=5, seed=0)
    for value in range(5):
        assert torch.equal(pool.query(fakes(value)), fakes(value))
    assert len(pool.images) == 5


def test_pool_returns_history_half_the_time_once_full():
    pool = ImagePool(size=50, seed=1)
    for value in range(50):
        pool.query(fakes(value))
    from_history = sum(pool.query(fakes(1000 + i)).flatten()[0].item() != 1000 + i for i in range(2000))
    assert 0.45 < from_history / 2000 < 0.55


def test_pool_swaps_the_returned_image_for_the_new_one():
    pool = ImagePool(size=3, seed=2)
    for value in range(3):
        pool.query(fakes(value))
    for i in range(20):
        returned = pool.query(fakes(100 + i)).flatten()[0].item()
        stored = sorted(image.flatten()[0].item() for image in pool.images)
        if returned != 100 + i:  # history returned: the new image took its slot
            assert returned not in stored and 100 + i in stored


def test_pool_is_seeded_and_ignores_global_random():
    import random

    def run(seed: int) -> list[float]:
        pool = ImagePool(size=4, seed=seed)
        random.seed(12345 + seed)  # global state must not matter
        return [pool.query(fakes(v)).flatten()[0].item() for v in range(40)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_pool_of_size_zero_is_off():
    batch = fakes(3.0, n=4)
    assert ImagePool(size=0).query(batch) is batch


def test_pool_handles_batches_image_by_image():
    pool = ImagePool(size=3, seed=0)
    out = pool.query(torch.arange(5.0).view(5, 1, 1, 1))
    assert out.shape == (5, 1, 1, 1) and len(pool.images) == 3


def test_pool_state_round_trip_continues_identically():
    pool = ImagePool(size=3, seed=4)
    for value in range(6):
        pool.query(fakes(value))
    copy = ImagePool(size=3, seed=99)
    copy.load_state_dict(pool.state_dict())
    assert [pool.query(fakes(v)).sum().item() for v in range(10, 30)] == \
           [copy.query(fakes(v)).sum().item() for v in range(10, 30)]


def test_negative_pool_size_is_refused():
    with pytest.raises(ValueError, match="pool size"):
        ImagePool(size=-1)
