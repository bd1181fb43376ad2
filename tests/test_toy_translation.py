"""2-D translation toys: the ring-to-rotated-ring task (Eq. 2) and the GAN with a history buffer."""

import pytest
import torch

from cyclegan_edu.course import ring_translation
from cyclegan_edu.course.history_experiment import HistoryGANRun, pool_answer_ages, train_gan_with_history
from cyclegan_edu.course.ring_translation import (
    correspondence_accuracy,
    mode_transitions,
    permutation_mappings,
    rotate,
    rotated,
    train_ring_translation,
)
from cyclegan_edu.course.toy2d import ring
from cyclegan_edu.cycle_consistency import backward_cycle_loss, forward_cycle_loss
from cyclegan_edu.history_buffer import ImagePool

SOURCE = ring()
TARGET = rotated(SOURCE, 22.5)
SHIFT_BY_ONE = [1, 2, 3, 4, 5, 6, 7, 0]


def test_rotate_turns_counter_clockwise():
    assert torch.allclose(rotate(torch.tensor([[1.0, 0.0]]), 90.0), torch.tensor([[0.0, 1.0]]), atol=1e-6)


def test_rotated_ring_keeps_mode_order_radius_and_std():
    assert torch.allclose(TARGET.means, rotate(SOURCE.means, 22.5))
    assert torch.allclose(TARGET.means.norm(dim=1), torch.full((8,), 2.0))
    assert TARGET.std == SOURCE.std


def test_every_mode_permutation_is_exactly_cycle_consistent():
    x, _ = SOURCE.sample_with_modes(500, torch.Generator().manual_seed(0))
    y, _ = TARGET.sample_with_modes(500, torch.Generator().manual_seed(1))
    for permutation in (list(range(8)), SHIFT_BY_ONE, [3, 6, 1, 4, 7, 2, 5, 0]):
        g, f = permutation_mappings(SOURCE, TARGET, permutation)
        assert forward_cycle_loss(x, g, f) < 1e-6 and backward_cycle_loss(y, g, f) < 1e-6


def test_only_the_identity_permutation_finds_the_counterparts():
    x, modes = SOURCE.sample_with_modes(500, torch.Generator().manual_seed(0))
    true_g, _ = permutation_mappings(SOURCE, TARGET, list(range(8)))
    shifted_g, _ = permutation_mappings(SOURCE, TARGET, SHIFT_BY_ONE)
    assert correspondence_accuracy(true_g(x), modes, TARGET) > 0.98  # all but the few x beyond 3 std
    assert correspondence_accuracy(shifted_g(x), modes, TARGET) == 0.0


def test_permutation_mappings_reject_a_non_permutation():
    with pytest.raises(ValueError, match="permutation"):
        permutation_mappings(SOURCE, TARGET, [0, 0, 1, 2, 3, 4, 5, 6])


def test_correspondence_needs_the_right_mode_and_a_close_landing():
    modes = torch.tensor([0, 0, 1])
    outputs = torch.stack([TARGET.means[0], TARGET.means[0] + 0.5, TARGET.means[0]])  # hit, too far, wrong mode
    assert correspondence_accuracy(outputs, modes, TARGET) == pytest.approx(1 / 3)


def test_mode_transitions_count_where_each_mode_lands():
    x, modes = SOURCE.sample_with_modes(400, torch.Generator().manual_seed(2))
    g, _ = permutation_mappings(SOURCE, TARGET, SHIFT_BY_ONE)
    transitions = mode_transitions(g(x), modes, TARGET)
    assert transitions.sum() == 400 and transitions.argmax(1).tolist() == SHIFT_BY_ONE


def test_translation_training_records_scores_and_is_seeded():
    def train():
        return train_ring_translation(SOURCE, TARGET, steps=6, batch_size=16, hidden=16, record_every=3,
                                      n_eval=50, seed=4)
    first, second = train(), train()
    assert first.steps == [3, 6] and len(first.reconstruction_errors) == len(first.coverage) == 2
    assert first.reconstruction_errors == second.reconstruction_errors
    assert all(0.0 <= a <= 1.0 for a in first.accuracies)


def test_cycle_loss_lowers_reconstruction_error():
    def error(cycle_weight):
        run = train_ring_translation(SOURCE, TARGET, steps=40, cycle_weight=cycle_weight, batch_size=64,
                                     hidden=32, record_every=40, n_eval=200, seed=0)
        return run.reconstruction_errors[-1]
    assert error(10.0) < 0.5 * error(0.0)


def test_pool_fills_first_then_answers_from_history_half_the_time():
    ages = pool_answer_ages(ImagePool(10, seed=0), 2010)
    assert (ages[:10] == 0).all() and (ages >= 0).all()
    assert 0.45 < (ages[10:] > 0).float().mean() < 0.55


def test_history_answers_are_about_twice_the_pool_size_old():
    ages = pool_answer_ages(ImagePool(10, seed=1), 5000)  # a slot survives 1 / (0.5 / 10) queries on average
    assert 15 < ages[ages > 0].float().mean() < 25


def test_gan_with_history_records_samples_and_scores():
    run = train_gan_with_history(SOURCE, steps=8, pool_size=3, batch_size=16, hidden=16, record_every=2,
                                 n_eval=40, seed=0)
    assert run.steps == [2, 4, 6, 8] and len(run.discriminator_losses) == 8
    assert run.centroids().shape == (4, 2) and run.sample_movement().shape == run.score_change().shape == (3,)


def test_gan_with_history_rejects_an_unknown_loss():
    with pytest.raises(ValueError, match="wgan"):
        train_gan_with_history(SOURCE, steps=1, loss="wgan")


def test_history_changes_what_the_discriminator_learns_from():
    def final(pool_size):
        return train_gan_with_history(SOURCE, steps=12, pool_size=pool_size, batch_size=16, hidden=16,
                                      record_every=12, n_eval=40, seed=0).samples[-1]
    assert torch.equal(final(0), final(0))
    assert not torch.equal(final(0), final(2))


def test_translation_training_runs_on_one_thread(monkeypatch):
    threads = []
    real_step = ring_translation.translation_step

    def counting_step(*args):
        threads.append(torch.get_num_threads())
        real_step(*args)

    monkeypatch.setattr(ring_translation, "translation_step", counting_step)
    before = torch.get_num_threads()
    train_ring_translation(SOURCE, TARGET, steps=2, batch_size=8, hidden=8, record_every=2, n_eval=20)
    assert threads == [1, 1] and torch.get_num_threads() == before


def run_with_centres(centres: list[tuple[float, float]], fake_scores: list[float]) -> HistoryGANRun:
    offsets = torch.tensor([[0.1, 0.0], [-0.1, 0.0]])  # two samples around each centre
    return HistoryGANRun(steps=list(range(len(centres))),
                         samples=[torch.tensor(centre) + offsets for centre in centres], fake_scores=fake_scores)


def test_centroid_swing_is_the_rms_distance_of_the_centre_from_its_mean_over_the_window():
    run = run_with_centres([(5.0, 5.0), (0.0, 0.0), (2.0, 0.0), (0.0, 0.0), (2.0, 0.0)], [0.5] * 5)
    assert run.centroid_swing(4) == pytest.approx(1.0)  # centres swing between (0, 0) and (2, 0)
    assert run_with_centres([(1.0, 1.0)] * 4, [0.5] * 4).centroid_swing(4) == pytest.approx(0.0, abs=1e-7)


def test_fake_score_swing_is_the_spread_of_ds_score_on_the_fakes_over_the_window():
    run = run_with_centres([(0.0, 0.0)] * 4, [0.2, 0.5, 0.1, 0.9])
    assert run.fake_score_swing(2) == pytest.approx(torch.tensor([0.1, 0.9]).std().item())
    assert run_with_centres([(0.0, 0.0)] * 3, [0.9, 0.5, 0.5]).fake_score_swing(2) == 0.0


def test_gan_with_history_records_ds_score_on_the_current_fakes():
    run = train_gan_with_history(SOURCE, steps=4, batch_size=16, hidden=16, record_every=2, n_eval=40, seed=0)
    assert len(run.fake_scores) == 2 and all(0.0 < score < 1.0 for score in run.fake_scores)
