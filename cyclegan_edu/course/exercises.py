"""Checkers for the notebooks' exercises: a student's function against the package's own, on seeded inputs.

Each checker prints `PASS: ...` or a `FAIL: ...` that says on which input the answer went wrong and
by how much, and returns True or False, so a notebook cell can `assert check_...(answer)`.
A `NotImplementedError` (an exercise not yet attempted) is let through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from cyclegan_edu.adversarial import discriminator_loss, non_saturating_generator_loss
from cyclegan_edu.course.toy2d import Mixture, grid, mode_coverage, ring
from cyclegan_edu.cycle_consistency import cycle_loss
from cyclegan_edu.identity_loss import identity_loss
from cyclegan_edu.lsgan import lsgan_loss
from cyclegan_edu.patchgan import receptive_field


def report(name: str, failure: str | None) -> bool:
    print(f"PASS: {name}" if failure is None else f"FAIL: {name}: {failure}")
    return failure is None


def compare(name: str, answer: Callable[..., Any], reference: Callable[..., Any],
            cases: Sequence[tuple[Any, ...]], rtol: float = 1e-4, atol: float = 1e-6) -> bool:
    """Call `answer` and `reference` on every case; PASS when all results agree within tolerance."""
    for number, case in enumerate(cases, 1):
        expected = reference(*case)
        try:
            got = answer(*case)
        except NotImplementedError:
            raise
        except Exception as error:  # the student's code crashed: say where, not a traceback
            return report(name, f"case {number} raised {type(error).__name__}: {error}")
        expected_t, got_t = torch.as_tensor(expected, dtype=torch.float64), torch.as_tensor(got, dtype=torch.float64)
        if expected_t.shape != got_t.shape:
            return report(name, f"case {number}: expected shape {tuple(expected_t.shape)}, got {tuple(got_t.shape)}")
        if not torch.allclose(got_t, expected_t, rtol=rtol, atol=atol):
            error = float(((got_t - expected_t).abs() / expected_t.abs().clamp_min(atol)).max())
            return report(name, f"case {number}: expected {expected_t.tolist()}, got {got_t.tolist()} "
                                f"(relative error {error:.2e})")
    return report(name, None)


def seeded_tensors(seed: int, *shapes: tuple[int, ...], scale: float = 1.0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    return tuple(scale * torch.randn(shape, generator=generator) for shape in shapes)


def check_discriminator_loss(answer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """answer(real_logits, fake_logits) = -(E[log D(y)] + E[log(1 - D(G(x)))]) (notebook 01)."""
    cases = [seeded_tensors(s, (16,), (16,), scale=3.0) for s in range(3)]
    cases.append((torch.tensor([30.0]), torch.tensor([-30.0])))
    return compare("discriminator loss, Eq. 1", answer, discriminator_loss, cases)


def check_non_saturating_loss(answer: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """answer(fake_logits) = -E[log D(G(x))] (notebook 01)."""
    cases = [seeded_tensors(s, (32,), scale=4.0) for s in range(3)] + [(torch.tensor([-40.0, 40.0]),)]
    return compare("non-saturating generator loss", answer, non_saturating_generator_loss, cases)


def check_modes_covered(answer: Callable[[torch.Tensor, Mixture], int]) -> bool:
    """answer(samples, mixture) = the number of modes with a high-quality sample (notebook 02)."""
    generator = torch.Generator().manual_seed(0)
    mixtures = [ring(), grid(), ring()]
    cases = [(mixtures[0].sample(500, generator), mixtures[0]),
             (mixtures[1].means[:7] + 0.01, mixtures[1]),  # 7 of 25 modes, all high quality
             (torch.randn(300, 2, generator=generator), mixtures[2])]  # mostly far from every mode
    return compare("modes covered", answer, lambda s, m: mode_coverage(s, m).modes_covered, cases)


def check_cycle_loss(answer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """answer(real, reconstructed) = mean |reconstructed - real| (notebook 03, Eq. 2)."""
    cases = [seeded_tensors(s, (2, 3, 8, 8), (2, 3, 8, 8)) for s in range(3)]
    return compare("cycle-consistency loss, Eq. 2", answer, cycle_loss, cases)


def check_lsgan_loss(answer: Callable[[torch.Tensor, bool], torch.Tensor]) -> bool:
    """answer(scores, target_is_real) = mean (scores - 1)^2 or mean scores^2 (notebook 04)."""
    cases = [(*seeded_tensors(s, (4, 1, 6, 6), scale=2.0), real) for s in range(2) for real in (True, False)]
    return compare("least-squares GAN loss", answer, lsgan_loss, cases)


def check_identity_loss(answer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """answer(real, same) = mean |same - real| (notebook 07)."""
    cases = [seeded_tensors(s, (1, 3, 8, 8), (1, 3, 8, 8)) for s in range(3)]
    return compare("identity loss", answer, identity_loss, cases)


def layers_to_network(layers: Sequence[tuple[int, int]]) -> nn.Sequential:
    return nn.Sequential(*[nn.Conv2d(1, 1, kernel, stride) for kernel, stride in layers])


def check_receptive_field(answer: Callable[[Sequence[tuple[int, int]]], int]) -> bool:
    """answer([(kernel, stride), ...]) = the receptive field of those convs in order (notebook 06)."""
    stacks = [[(4, 2), (4, 2), (4, 2), (4, 1), (4, 1)],  # the 70x70 PatchGAN: 70
              [(4, 2), (4, 1), (4, 1)],  # 16
              [(1, 1), (1, 1), (1, 1)],  # PixelGAN: 1
              [(3, 1), (3, 2), (5, 2), (3, 1)]]
    return compare("receptive field", answer, lambda layers: receptive_field(layers_to_network(layers)),
                   [(stack,) for stack in stacks], rtol=0, atol=0)


def check_image_pool(pool_class: Callable[[int, int], Any]) -> bool:
    """pool_class(size, seed) with .query(images): the history buffer's behaviour (notebook 05).

    Checked by behaviour, not by random numbers: returns new images while filling; once full,
    about half the returned images come from history; an image returned from history leaves
    the pool and the new one takes its place; size 0 returns the input.
    """
    name = "image history buffer"
    pool = pool_class(5, 0)
    for value in range(5):
        out = pool.query(torch.full((1, 1, 2, 2), float(value)))
        if out.shape != (1, 1, 2, 2) or out.flatten()[0].item() != value:
            return report(name, f"while filling, query should return the new image {value}, "
                                f"got {out.flatten().tolist()}")
    stored = set(range(5))
    from_history = 0
    for step in range(2000):
        new = 100.0 + step
        returned = pool.query(torch.full((1, 1, 2, 2), new)).flatten()[0].item()
        if returned != new:
            if returned not in stored:
                return report(name, f"returned {returned}, which was never stored in the pool")
            stored.remove(returned)
            stored.add(new)
            from_history += 1
    share = from_history / 2000
    if not 0.45 < share < 0.55:
        return report(name, f"once full, {share:.0%} of images came from history; expected about 50%")
    batch = torch.zeros(3, 1, 2, 2)
    if not torch.equal(pool_class(0, 0).query(batch), batch):
        return report(name, "a pool of size 0 should return its input unchanged")
    return report(name, None)
