"""Checkers for the notebooks' exercises: a student's function against the package's own, on seeded inputs.

Each checker prints `PASS: ...`, a `FAIL: ...` that says on which input the answer went wrong and
by how much, or `NOT DONE YET: ...` for an answer that still raises nbgrader's `NotImplementedError`
stub, and returns True only for a pass. A student's Run All therefore goes on past an unsolved
exercise (the lesson continues with the package's version), while the notebook's hidden test,
`assert passed`, fails the exercise for its points under nbgrader's autograder.
"""

from __future__ import annotations

import random
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


def not_done(name: str) -> bool:
    """The report for an exercise whose answer is still nbgrader's `raise NotImplementedError()` stub."""
    print(f"NOT DONE YET: {name}: replace `raise NotImplementedError()` in the cell above with your answer and run "
          "both cells again; until then the notebook goes on with the package's version")
    return False


def describe_error(got: torch.Tensor, expected: torch.Tensor, rtol: float, atol: float) -> str:
    """The error of the element furthest outside tolerance: relative where `allclose` judges relatively
    (rtol * |expected| > atol), absolute where the expected value is near 0 and a ratio would mean nothing."""
    difference = (got - expected).abs().flatten()
    worst = int((difference - rtol * expected.abs().flatten()).argmax())
    error, wanted = float(difference[worst]), float(expected.flatten()[worst])
    if rtol * abs(wanted) > atol:
        return f"relative error {error / abs(wanted):.2e}"
    near_zero = f" (the expected {wanted:.3g} is too close to 0 for a relative error)" if rtol > 0 else ""
    return f"absolute error {error:.2e}{near_zero}"


def compare(name: str, answer: Callable[..., Any], reference: Callable[..., Any],
            cases: Sequence[tuple[Any, ...]], rtol: float = 1e-4, atol: float = 1e-6,
            non_finite_hint: str = "") -> bool:
    """Call `answer` and `reference` on every case; PASS when all results agree within tolerance.

    A non-finite answer (inf or nan) where the reference is finite is named as such, followed by
    `non_finite_hint` (what the text says to do about it).
    """
    for number, case in enumerate(cases, 1):
        expected = reference(*case)
        try:
            got = answer(*case)
        except NotImplementedError:
            return not_done(name)
        except Exception as error:  # the student's code crashed: say where, not a traceback
            return report(name, f"case {number} raised {type(error).__name__}: {error}")
        expected_t, got_t = torch.as_tensor(expected, dtype=torch.float64), torch.as_tensor(got, dtype=torch.float64)
        if expected_t.shape != got_t.shape:
            return report(name, f"case {number}: expected shape {tuple(expected_t.shape)}, got {tuple(got_t.shape)}")
        if torch.isfinite(expected_t).all() and not torch.isfinite(got_t).all():
            return report(name, f"case {number}: expected {expected_t.tolist()}, got {got_t.tolist()}, "
                                f"a non-finite result{non_finite_hint}")
        if not torch.allclose(got_t, expected_t, rtol=rtol, atol=atol):
            return report(name, f"case {number}: expected {expected_t.tolist()}, got {got_t.tolist()} "
                                f"({describe_error(got_t, expected_t, rtol, atol)})")
    return report(name, None)


def seeded_tensors(seed: int, *shapes: tuple[int, ...], scale: float = 1.0) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    return tuple(scale * torch.randn(shape, generator=generator) for shape in shapes)


STABLE_FORM = (": use a numerically stable form (F.softplus, F.logsigmoid or F.binary_cross_entropy_with_logits); "
               "log(sigmoid(s)) and log(1 - sigmoid(s)) become log 0 = -inf once sigmoid(s) rounds to 0 or 1 "
               "(in float32, s below about -88 or above about 17)")


def check_discriminator_loss(answer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> bool:
    """answer(real_logits, fake_logits) = -(E[log D(y)] + E[log(1 - D(G(x)))]) (notebook 01).

    Beyond seeded logits: real and fake batches of different lengths (each expectation is its own
    mean, so summing, or averaging the two batches stacked together, fails) and a discriminator
    that is confidently wrong (logits of +-100 and +-1000, where only a stable form stays finite).
    """
    cases = [seeded_tensors(s, (16,), (16,), scale=3.0) for s in range(3)]
    cases.append((torch.tensor([30.0]), torch.tensor([-30.0])))
    cases.append(seeded_tensors(3, (16,), (5,), scale=3.0))
    cases.append((torch.tensor([-1000.0, 3.0, 100.0]), torch.tensor([1000.0, -2.0, 20.0, -100.0, 0.0])))
    return compare("discriminator loss, Eq. 1", answer, discriminator_loss, cases, non_finite_hint=STABLE_FORM)


def check_non_saturating_loss(answer: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """answer(fake_logits) = -E[log D(G(x))] (notebook 01), including fakes rejected with logits of -1000."""
    cases = [seeded_tensors(s, (32,), scale=4.0) for s in range(3)] + [(torch.tensor([-40.0, 40.0]),)]
    cases.append((torch.tensor([-1000.0, -100.0, 0.0, 100.0, 1000.0]),))
    return compare("non-saturating generator loss", answer, non_saturating_generator_loss, cases,
                   non_finite_hint=STABLE_FORM)


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


def numbered_images(first: int, count: int) -> torch.Tensor:
    """(count, 1, 2, 2) images; image i holds the number first + i, so every answer says where it came from."""
    return torch.arange(first, first + count, dtype=torch.float32).view(count, 1, 1, 1).expand(count, 1, 2, 2).clone()


def image_numbers(images: torch.Tensor) -> list[int]:
    return [int(image.flatten()[0].item()) for image in images]


def replay_pool(pool: Any, size: int, queries: int, batch_size: int) -> str | list[int]:
    """Query `pool` with numbered batches and hold every answer to the official rules, image by image.

    While fewer than `size` images are stored, each image comes back as itself and is stored; once
    full, each image comes back as itself (nothing stored) or as a stored image, whose slot it then
    takes. Returns what went wrong, or how many images of each batch after the filling came from history.
    """
    stored: set[int] = set()
    from_history = []
    for query in range(queries):
        numbers = list(range(query * batch_size, (query + 1) * batch_size))
        answer = pool.query(numbered_images(numbers[0], batch_size))
        if tuple(answer.shape) != (batch_size, 1, 2, 2):
            return f"a batch of shape {(batch_size, 1, 2, 2)} came back as {tuple(answer.shape)}"
        full_before = len(stored) == size
        history = 0
        for new, returned in zip(numbers, image_numbers(answer)):
            if len(stored) < size:
                if returned != new:
                    return f"while filling, image {new} should come back as itself, got {returned}"
                stored.add(new)
            elif returned != new:
                if returned not in stored:
                    return f"image {new} came back as {returned}, which is not in the pool (never stored, or gone)"
                stored.remove(returned)
                stored.add(new)
                history += 1
        if full_before:
            from_history.append(history)
    return from_history


def pool_answers_half_from_history(pool_class: Callable[[int, int], Any]) -> str | None:
    """Fill first, then about half of the images from history, one image per query (the paper's batch of 1)."""
    counts = replay_pool(pool_class(5, 0), 5, 2005, 1)
    if isinstance(counts, str):
        return counts
    share = sum(counts) / len(counts)
    if not 0.45 < share < 0.55:
        return f"once full, {share:.0%} of images came from history; expected about 50%"
    return None


def pool_tosses_a_coin_per_image(pool_class: Callable[[int, int], Any]) -> str | None:
    """Batches of 4 into a pool of 50: the same rules per image, and a fair coin for each image.

    With a coin per image, the number of history images in a full batch varies from 0 to 4. A coin
    per batch gives only 0 or 4; SimGAN's scheme (half of every batch from history) always 2.
    """
    counts = replay_pool(pool_class(50, 0), 50, 600, 4)
    if isinstance(counts, str):
        return f"batches of 4: {counts}"
    share = sum(counts) / (4 * len(counts))
    if not 0.45 < share < 0.55:
        return f"batches of 4: once full, {share:.0%} of images came from history; expected about 50%"
    if set(counts) <= {0, 4}:
        return "batches of 4: every batch came back all new or all from history; toss the coin per image"
    if len(set(counts)) == 1:
        return (f"batches of 4: every batch had exactly {counts[0]} images from history; the CycleGAN code tosses "
                "a fair coin per image (SimGAN's fixed half batch is another scheme)")
    return None


def pool_returns_detached_copies(pool_class: Callable[[int, int], Any]) -> str | None:
    """Changing a returned batch in place must not change the pool; returned images carry no graph."""
    pool = pool_class(3, 0)
    for query in range(200):
        answer = pool.query(numbered_images(query, 1))
        if image_numbers(answer)[0] < 0:
            return "an image changed after it was returned also changed inside the pool: store copies"
        answer.fill_(-1.0)  # what a careless caller might do to the batch it got back
    answer = pool.query(numbered_images(0, 2).requires_grad_())
    if answer.requires_grad:
        return "the returned images still require grad: store and return detached images (images.detach())"
    return None


def pool_uses_its_own_seeded_rng(pool_class: Callable[[int, int], Any]) -> str | None:
    """The same seed gives the same answers; the global `random` and torch's global RNG stay untouched."""
    python_state, torch_state = random.getstate(), torch.get_rng_state()

    def answers(seed: int) -> list[int]:
        pool = pool_class(4, seed)
        return [number for query in range(60) for number in image_numbers(pool.query(numbered_images(2 * query, 2)))]

    same_seed_agrees, other_seed_differs = answers(7) == answers(7), answers(7) != answers(8)
    if random.getstate() != python_state:
        return "the global `random` module was used (its state changed): draw from your own random.Random(seed)"
    if not torch.equal(torch.get_rng_state(), torch_state):
        return "torch's global random generator was used (its state changed): draw from your own random.Random(seed)"
    if not same_seed_agrees:
        return "two pools with the same seed answered differently: seed the pool's own generator with `seed`"
    if not other_seed_differs:
        return "pools with seeds 7 and 8 answered identically: the seed should drive the coin"
    return None


def pool_of_size_zero_is_off(pool_class: Callable[[int, int], Any]) -> str | None:
    batch = torch.zeros(3, 1, 2, 2)
    if not torch.equal(pool_class(0, 0).query(batch), batch):
        return "a pool of size 0 should return its input unchanged"
    return None


def check_image_pool(pool_class: Callable[[int, int], Any]) -> bool:
    """pool_class(size, seed) with .query(images): the CycleGAN code's history buffer (notebook 05).

    Checked by behaviour, not by random numbers: new images while filling; once full, a fair coin
    per image, about half from history; an image returned from history leaves the pool and the new
    one takes its place; batches larger than one; stored images are detached copies; the pool's own
    seeded generator, never the global `random` or torch's global RNG; size 0 returns the input.
    """
    name = "image history buffer"
    for check in (pool_answers_half_from_history, pool_tosses_a_coin_per_image, pool_returns_detached_copies,
                  pool_uses_its_own_seeded_rng, pool_of_size_zero_is_off):
        try:
            failure = check(pool_class)
        except NotImplementedError:
            return not_done(name)
        except Exception as error:  # the student's code crashed: say where, not a traceback
            failure = f"{check.__name__} raised {type(error).__name__}: {error}"
        if failure is not None:
            return report(name, failure)
    return report(name, None)
