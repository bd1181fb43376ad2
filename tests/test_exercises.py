"""Every checker passes the package's own answer, fails a wrong one with a message, and lets an
unattempted exercise (NotImplementedError) through."""

import pytest

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


def test_an_unattempted_exercise_raises_not_implemented():
    def unattempted(*args):
        raise NotImplementedError()

    with pytest.raises(NotImplementedError):
        exercises.check_cycle_loss(unattempted)


def test_a_crashing_answer_is_a_fail_not_a_traceback(capsys):
    assert exercises.check_cycle_loss(lambda real, rec: real.nonexistent()) is False
    assert "raised AttributeError" in capsys.readouterr().out


def test_shape_mistakes_are_named(capsys):
    assert exercises.check_cycle_loss(lambda real, rec: (real - rec).abs()) is False
    assert "expected shape ()" in capsys.readouterr().out
