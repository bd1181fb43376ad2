"""Every checker passes the package's own answer, fails a wrong one with a message, and reports an
unattempted exercise (nbgrader's NotImplementedError stub) as not done yet, without raising."""

import random

import pytest
import torch
import torch.nn.functional as F

from cyclegan_edu.adversarial import discriminator_loss, minimax_generator_loss, non_saturating_generator_loss
from cyclegan_edu.course import exercises
from cyclegan_edu.course.toy2d import mode_coverage
from cyclegan_edu.cycle_consistency import cycle_loss
from cyclegan_edu.history_buffer import ImagePool
from cyclegan_edu.identity_loss import identity_loss
from cyclegan_edu.lsgan import lsgan_loss
from cyclegan_edu.patchgan import receptive_field


class AlwaysNewPool:
    """A wrong pool: never returns history."""

    def __init__(self, size, seed):
        self.size = size

    def query(self, images):
        return images


CHECKS = [
    ("check_discriminator_loss", discriminator_loss, lambda r, f: discriminator_loss(f, r), "relative error"),
    ("check_non_saturating_loss", non_saturating_generator_loss, minimax_generator_loss, "case 1"),
    ("check_modes_covered", lambda s, m: mode_coverage(s, m).modes_covered, lambda s, m: len(m.means), "expected"),
    ("check_cycle_loss", cycle_loss, lambda real, rec: ((real - rec) ** 2).mean(), "case 1"),
    ("check_lsgan_loss", lsgan_loss, lambda scores, real: (scores - float(real)).abs().mean(), "case 1"),
    ("check_identity_loss", identity_loss, lambda real, same: (real - same).abs().sum(), "case 1"),
    ("check_receptive_field", lambda layers: receptive_field(exercises.layers_to_network(layers)),
     lambda layers: sum(k for k, _ in layers), "case 1"),
    ("check_image_pool", lambda size, seed: ImagePool(size, seed), AlwaysNewPool, "history"),
]


@pytest.mark.parametrize("checker, right, wrong, message", CHECKS, ids=[c[0] for c in CHECKS])
def test_checker_passes_the_reference_and_fails_a_wrong_answer(capsys, checker, right, wrong, message):
    check = getattr(exercises, checker)
    assert check(right) is True
    assert "PASS" in capsys.readouterr().out
    assert check(wrong) is False
    printed = capsys.readouterr().out
    assert printed.startswith("FAIL") and message in printed


class UnattemptedPool:
    """nbgrader's stub in both methods of notebook 05's exercise."""

    def __init__(self, size, seed):
        raise NotImplementedError()

    def query(self, images):
        raise NotImplementedError()


def unattempted(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("checker", [c[0] for c in CHECKS])
def test_an_unattempted_exercise_is_not_done_yet_and_does_not_stop_run_all(capsys, checker):
    stub = UnattemptedPool if checker == "check_image_pool" else unattempted
    assert getattr(exercises, checker)(stub) is False
    printed = capsys.readouterr().out
    assert printed.startswith("NOT DONE YET") and "raise NotImplementedError()" in printed


def test_a_crashing_answer_is_a_fail_not_a_traceback(capsys):
    assert exercises.check_cycle_loss(lambda real, rec: real.nonexistent()) is False
    assert "raised AttributeError" in capsys.readouterr().out


def test_shape_mistakes_are_named(capsys):
    assert exercises.check_cycle_loss(lambda real, rec: (real - rec).abs()) is False
    assert "expected shape ()" in capsys.readouterr().out


def naive_discriminator_loss(real, fake):
    """Eq. 1 as written, log of a sigmoid: right for moderate logits, -inf once sigmoid rounds to 0 or 1."""
    return -torch.log(torch.sigmoid(real)).mean() - torch.log(1 - torch.sigmoid(fake)).mean()


UNSTABLE_OR_MISAVERAGED = [
    ("log of sigmoid", naive_discriminator_loss, "non-finite result: use a numerically stable form"),
    ("clamped log of sigmoid", lambda r, f: -torch.log(torch.sigmoid(r).clamp_min(1e-7)).mean()
     - torch.log((1 - torch.sigmoid(f)).clamp_min(1e-7)).mean(), "relative error"),
    ("one mean over both batches stacked", lambda r, f: 2 * torch.cat([F.softplus(-r), F.softplus(f)]).mean(),
     "case 5"),
    ("element-wise sum of the two batches", lambda r, f: (F.softplus(-r) + F.softplus(f)).mean(), "case 5 raised"),
]


@pytest.mark.parametrize("answer, message", [case[1:] for case in UNSTABLE_OR_MISAVERAGED],
                         ids=[case[0] for case in UNSTABLE_OR_MISAVERAGED])
def test_discriminator_loss_checker_catches_unstable_and_misaveraged_answers(capsys, answer, message):
    assert exercises.check_discriminator_loss(answer) is False
    printed = capsys.readouterr().out
    assert printed.startswith("FAIL") and message in printed


def test_every_stable_form_passes_the_discriminator_loss_checker(capsys):
    stable_forms = [lambda r, f: -F.logsigmoid(r).mean() - F.logsigmoid(-f).mean(),
                    lambda r, f: F.binary_cross_entropy_with_logits(r, torch.ones_like(r))
                    + F.binary_cross_entropy_with_logits(f, torch.zeros_like(f))]
    assert all(exercises.check_discriminator_loss(answer) for answer in stable_forms)
    assert "FAIL" not in capsys.readouterr().out


@pytest.mark.parametrize("answer, message", [
    (lambda f: -torch.log(torch.sigmoid(f)).mean(), "non-finite result: use a numerically stable form"),
    (lambda f: torch.log1p(torch.exp(-f)).mean(), "non-finite result"),
    (lambda f: F.binary_cross_entropy(torch.sigmoid(f), torch.ones_like(f)), "relative error"),  # log clamped at -100
], ids=["log of sigmoid", "log1p of exp", "probability BCE"])
def test_non_saturating_checker_catches_unstable_answers(capsys, answer, message):
    assert exercises.check_non_saturating_loss(answer) is False
    printed = capsys.readouterr().out
    assert printed.startswith("FAIL") and message in printed
    assert exercises.check_non_saturating_loss(lambda f: -F.logsigmoid(f).mean()) is True


def test_an_expected_zero_is_reported_with_an_absolute_error(capsys):
    assert exercises.compare("zero", lambda: torch.tensor(3e-4), lambda: torch.tensor(0.0), [()]) is False
    printed = capsys.readouterr().out
    assert "absolute error 3.00e-04" in printed and "relative" not in printed.replace("for a relative", "")
    assert exercises.compare("one", lambda: torch.tensor(1.5), lambda: torch.tensor(1.0), [()]) is False
    assert "relative error 5.00e-01" in capsys.readouterr().out


class GlobalRandomPool:
    """The official code's pool, drawing from the global `random` as the authors' code does."""

    def __init__(self, size, seed, draw=random.random):
        self.size, self.images, self.draw = size, [], draw

    def query(self, images):
        if self.size == 0:
            return images
        returned = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                returned.append(image)
            elif self.draw() < 0.5:
                returned.append(self.swap(image))
            else:
                returned.append(image)
        return torch.stack(returned)

    def swap(self, image):
        """A stored image at a random slot, replaced there by a copy of `image` (the official buffer's swap)."""
        slot = int(self.draw() * self.size)
        old, self.images[slot] = self.images[slot], image.clone()
        return old


class SeededPool(GlobalRandomPool):
    """A right answer, written differently from the package's: the coin from a seeded torch.Generator."""

    def __init__(self, size, seed):
        generator = torch.Generator().manual_seed(seed)
        super().__init__(size, seed, draw=lambda: torch.rand((), generator=generator).item())


class TorchGlobalPool(GlobalRandomPool):
    def __init__(self, size, seed):
        super().__init__(size, seed, draw=lambda: torch.rand(()).item())


class UnseededPool(GlobalRandomPool):
    def __init__(self, size, seed):
        super().__init__(size, seed, draw=random.Random().random)


class PerBatchCoinPool(SeededPool):
    """Tosses one coin per batch: the whole batch new, or the whole batch from history."""

    def query(self, images):
        if len(self.images) < self.size or self.draw() >= 0.5:
            return super().query(images) if len(self.images) < self.size else images
        returned = []
        for image in images:
            returned.append(self.swap(image))
        return torch.stack(returned)


class HalfBatchPool(SeededPool):
    """SimGAN's scheme: exactly half of every full batch from history (a coin for a batch of one)."""

    def query(self, images):
        if len(self.images) < self.size or len(images) == 1:
            return super().query(images)
        returned = []
        for index, image in enumerate(images):
            if index % 2 == 0:
                returned.append(self.swap(image))
            else:
                returned.append(image)
        return torch.stack(returned)


class BatchOfOnePool(SeededPool):
    """Written for the paper's batch of 1: stores and returns whole batches, no copies."""

    def query(self, images):
        if len(self.images) < self.size:
            self.images.append(images)
            return images
        if self.draw() < 0.5:
            slot = int(self.draw() * self.size)
            old, self.images[slot] = self.images[slot], images
            return old
        return images


class UndetachedPool(SeededPool):
    def query(self, images):
        returned = [self.images.append(image.clone()) or image if len(self.images) < self.size else image
                    for image in images]  # fills correctly, then never swaps: enough for this check
        return torch.stack(returned)


@pytest.mark.parametrize("wrong, message", [
    (PerBatchCoinPool, "toss the coin per image"),
    (HalfBatchPool, "SimGAN"),
    (BatchOfOnePool, "batches of 4"),
    (GlobalRandomPool, "global `random`"),
    (TorchGlobalPool, "torch's global random generator"),
    (UnseededPool, "same seed"),
], ids=lambda value: getattr(value, "__name__", "message"))
def test_pool_checker_catches_what_the_text_forbids(capsys, wrong, message):
    random_state, torch_state = random.getstate(), torch.get_rng_state()
    assert exercises.check_image_pool(wrong) is False
    printed = capsys.readouterr().out
    assert printed.startswith("FAIL") and message in printed
    random.setstate(random_state)
    torch.set_rng_state(torch_state)


def test_pool_checker_wants_copies_that_carry_no_graph():
    assert "store copies" in exercises.pool_returns_detached_copies(BatchOfOnePool)
    assert "require grad" in exercises.pool_returns_detached_copies(UndetachedPool)
    assert exercises.pool_returns_detached_copies(ImagePool) is None


def test_pool_checker_accepts_a_different_right_answer_and_leaves_global_rngs_alone(capsys):
    random_state, torch_state = random.getstate(), torch.get_rng_state()
    assert exercises.check_image_pool(SeededPool) is True
    assert exercises.check_image_pool(ImagePool) is True
    assert random.getstate() == random_state and torch.equal(torch.get_rng_state(), torch_state)
