"""The tint task of notebook 07: scenes, the backdrop measurement, and a tiny training run."""

import torch

from cyclegan_edu.course import tint_task


def test_the_two_domains_differ_only_on_the_disk():
    images = tint_task.tint_images(6, seed=0)
    backdrop = images.backdrop.unsqueeze(1).expand_as(images.a)
    assert torch.equal(images.a[backdrop], images.b[backdrop])
    assert not torch.equal(images.a, images.b)


def test_the_true_translation_keeps_the_tint_exactly():
    images = tint_task.tint_images(6, seed=1)
    assert tint_task.tint_shift(images.a, images.b, images.backdrop) == 0.0


def test_tint_shift_measures_a_colour_cast_in_unit_scale():
    images = tint_task.tint_images(4, seed=2)
    cast = images.a.clone()
    cast[:, 0] += 2 * 0.06  # +0.06 on the red channel, in [-1, 1] units
    assert abs(tint_task.tint_shift(images.a, cast, images.backdrop) - 0.06 / 3) < 1e-6


def test_backdrop_colour_is_the_scene_tint():
    images = tint_task.tint_images(8, seed=3)
    tints = torch.tensor([scene.tint for scene in images.scenes])
    assert (tint_task.backdrop_colour(images.a, images.backdrop) - tints).abs().max() < 0.02


def test_backdrop_mask_leaves_out_the_frame_and_the_disk():
    scene = tint_task.TintScene((0.5, 0.2, 0.7), x=0.5, y=0.5, radius=0.2)
    mask = tint_task.backdrop_mask(scene, 32)
    assert not mask[0].any() and not mask[:, -1].any()  # the frame
    assert not mask[16, 16] and mask[6, 6]  # the disk's centre; a corner inside the frame


def test_scenes_are_reproducible_and_streams_differ():
    assert tint_task.sample_scenes(3, seed=5) == tint_task.sample_scenes(3, seed=5)
    assert tint_task.sample_scenes(3, seed=5) != tint_task.sample_scenes(3, seed=6)


def test_hue_shift_is_the_smallest_turn_of_the_colour_wheel():
    images = tint_task.tint_images(4, seed=6)
    assert tint_task.hue_shift(images.a, images.a, images.backdrop) == 0.0
    swapped = images.a[:, [2, 0, 1]]  # (r, g, b) -> (b, r, g) turns every hue by 120 degrees
    assert abs(tint_task.hue_shift(images.a, swapped, images.backdrop) - 120) < 1e-3


def test_ignoring_the_tint_gives_a_large_shift():
    images = tint_task.tint_images(32, seed=4)
    flat = tint_task.flattened_tint(images)
    assert tint_task.tint_shift(images.b, flat, images.backdrop) > 0.1


def test_training_records_both_shifts_at_each_record():
    run = tint_task.train_tint_cyclegan(0.5, steps=3, seed=0, n_train=2, n_test=2, record_every=2, batch_size=1,
                                        generator_blocks=1, generator_width=4, discriminator_width=4)
    assert run.steps == [2, 3] and len(run.shift_translated) == len(run.shift_identity) == 2
    assert run.model.identity_weight == 0.5 and len(run.losses) == 3


def test_disk_error_is_1_for_doing_nothing_and_0_for_the_true_flip():
    images = tint_task.tint_images(6, seed=7)
    assert tint_task.disk_error(images, images.a) == 1.0 and tint_task.disk_error(images, images.b) == 0.0
    halfway = (images.a + images.b) / 2
    assert abs(tint_task.disk_error(images, halfway) - 0.5) < 1e-6


def test_the_disk_mask_lies_inside_the_disk_and_off_the_backdrop():
    scene = tint_task.TintScene((0.5, 0.2, 0.7), x=0.5, y=0.5, radius=0.2)
    disk = tint_task.disk_mask(scene, 32)
    assert disk[16, 16] and not disk[6, 6] and not (disk & tint_task.backdrop_mask(scene, 32)).any()
