"""Notebook 08's exercise: a student's CycleGAN training step against the package's `CycleGAN.train_step`.

The step is the paper's Section 3 objective (Eq. 3, with the identity term of Section 5.2) optimized
as Section 4 and Appendix 7.1 describe, in the order of the authors' code: both translations and
reconstructions, the discriminators frozen while one Adam step updates G and F, then each
discriminator's halved loss on detached fakes from its history pool and one Adam step for both.

`check_training_step(answer)` builds two copies of the same seeded tiny CycleGAN, runs a few steps of
`answer(model, real_a, real_b)` on one and of the package's `train_step` on the other with the same
batches and seeds, and compares the losses, the pools and every weight, under several settings of
the ablation switches. It prints `PASS: ...` or the first difference with a hint, and returns a bool.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cyclegan_edu.course.exercises import not_done, report
from cyclegan_edu.course.toy2d import one_cpu_thread
from cyclegan_edu.cyclegan import LOSS_NAMES, CycleGAN

NAME = "CycleGAN training step"
TrainStep = Callable[[CycleGAN, torch.Tensor, torch.Tensor], dict[str, float]]
# Smoke-size networks: one residual block, width 8, 32 px; batches of 2 so each pool stores per image.
TINY = dict(generator_blocks=1, generator_width=8, discriminator_width=8, image_size=32)
BATCH, SIZE, STEPS = 2, 32, 3
# A pool of 2 is full after the first step of batch 2, so later steps already swap with the history.
SETTINGS: dict[str, dict[str, Any]] = {
    "the authors' default (identity 0.5 lambda)": dict(pool_size=2),
    "identity loss off (Table 4)": dict(pool_size=2, identity_weight=0.0),
    "GAN + forward cycle, lambda = 5": dict(pool_size=2, backward_cycle=False, cycle_weight=5.0),
    "GAN + backward cycle": dict(pool_size=2, forward_cycle=False),
    "no history pool": dict(pool_size=0),
    "cycle alone (no discriminators)": dict(pool_size=2, adversarial=False),
    "the cross-entropy GAN loss": dict(pool_size=2, gan_loss="vanilla"),
}
NETWORKS = {"G (generator_ab)": "generator_ab", "F (generator_ba)": "generator_ba",
            "D_Y (discriminator_b)": "discriminator_b", "D_X (discriminator_a)": "discriminator_a"}
POOLS = {"pool_fake_b (D_Y's history of G(a))": "pool_fake_b", "pool_fake_a (D_X's history of F(b))": "pool_fake_a"}
# What the student writes themselves: these methods of the model hold the answer.
ANSWER_METHODS = ("train_step", "generator_passes", "generator_objective", "discriminator_objective",
                  "score_real_and_fake")
LOSS_HINTS = {
    "G_gan_ab": "model.gan_loss(D_Y(G(a)), True), only when model.adversarial (Eq. 1 for G)",
    "G_gan_ba": "model.gan_loss(D_X(F(b)), True), only when model.adversarial",
    "cycle_a": "cycle_weight * |F(G(a)) - a|, only when model.forward_cycle (Eq. 2)",
    "cycle_b": "cycle_weight * |G(F(b)) - b|, only when model.backward_cycle (Eq. 2)",
    "identity_b": "identity_weight * cycle_weight * |G(b) - b|, only when identity_weight > 0 (Section 5.2)",
    "identity_a": "identity_weight * cycle_weight * |F(a) - a|, only when identity_weight > 0",
    "G_total": "the sum of the six generator terms, switched-off terms counting 0",
    "D_b": "0.5 * (gan_loss(D_Y(b), True) + gan_loss(D_Y(pooled G(a)), False)), 0 without model.adversarial",
    "D_a": "0.5 * (gan_loss(D_X(a), True) + gan_loss(D_X(pooled F(b)), False)), 0 without model.adversarial",
}
NOT_HALVED = ("twice the expected value: Appendix 7.1, \"we divide the objective by 2 while optimizing D\" "
              "(Adam's step hardly changes when a loss is scaled, so only the loss value shows it)")
WEIGHT_HINTS = {
    "generator_ab": "one Adam step (model.optimizer_g) on G_total, gradients zeroed first",
    "generator_ba": "one Adam step (model.optimizer_g) on G_total, gradients zeroed first",
    "discriminator_b": ("zero model.optimizer_d's gradients before D's backward, score the pooled fakes, "
                        "then one Adam step for both discriminators"),
    "discriminator_a": ("zero model.optimizer_d's gradients before D's backward, score the pooled fakes, "
                        "then one Adam step for both discriminators"),
}
DETACH_ERRORS = ("backward through the graph a second time", "modified by an inplace operation")
TOLERANCE = dict(rtol=1e-5, atol=1e-6)


class AnswerCalledThePackage(Exception):
    """The answer called one of the model's methods that already hold the step."""


def normalized_biases(network: nn.Module) -> set[str]:
    """Names of the conv biases that an instance norm right after subtracts again.

    InstanceNorm2d(affine=False) removes each channel's mean, so such a bias changes nothing and its
    true gradient is 0; Adam turns the rounding noise left in it into steps of about lr, which differ
    between two correct steps that add the same gradients in another order. They are not compared.
    """
    leaves = [(name, module) for name, module in network.named_modules() if not list(module.children())]
    return {f"{name}.bias" for (name, module), (_, following) in zip(leaves, leaves[1:])
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(following, nn.InstanceNorm2d)}


def tiny_model(settings: dict[str, Any], seed: int) -> CycleGAN:
    """A seeded smoke-size CycleGAN (weights from torch's RNG, pools from their own seeded RNGs)."""
    torch.manual_seed(seed)
    random.seed(seed)
    return CycleGAN(**TINY, **settings, seed=seed)


def batches(seed: int, steps: int = STEPS) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`steps` pairs of (real_a, real_b), each (BATCH, 3, SIZE, SIZE) in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return [tuple(torch.rand(BATCH, 3, SIZE, SIZE, generator=generator) * 2 - 1 for _ in "ab")
            for _ in range(steps)]


@dataclass
class StepRecorder:
    """Watches a model's two optimizers: the order of their steps and whether D was frozen for G's."""

    model: CycleGAN
    steps: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.model.optimizer_g.register_step_pre_hook(lambda *_: self.record("G"))
        self.model.optimizer_d.register_step_pre_hook(lambda *_: self.record("D"))

    def record(self, optimizer: str) -> None:
        self.steps.append(optimizer)
        frozen = [not p.requires_grad for d in self.model.discriminators for p in d.parameters()]
        if optimizer == "G" and not all(frozen):
            self.problems.append("the discriminators were not frozen during G's update: call "
                                 "set_requires_grad(model.discriminators, False) before G's loss")
        if optimizer == "D" and any(frozen):
            self.problems.append("the discriminators were still frozen at their own update: unfreeze them first")


def guard_package_methods(model: CycleGAN) -> None:
    """Make the model's own step methods raise on this copy: the answer must compose the step itself."""
    def refuse(name: str) -> Callable[..., Any]:
        def refused(*args: Any, **kwargs: Any) -> Any:
            raise AnswerCalledThePackage(f"your step called model.{name}: write the step from the networks, "
                                         "optimizers and pools, with the loss functions")
        return refused
    for name in ANSWER_METHODS:
        setattr(model, name, refuse(name))


def run_answer(answer: TrainStep, model: CycleGAN, real_a: torch.Tensor, real_b: torch.Tensor,
               step: int) -> tuple[dict[str, float] | None, str | None]:
    """(losses, None), or (None, what went wrong); NotImplementedError (the unsolved stub) passes through."""
    torch.manual_seed(step)
    random.seed(step)
    try:
        losses = answer(model, real_a.clone(), real_b.clone())
    except NotImplementedError:
        raise
    except AnswerCalledThePackage as refusal:
        return None, str(refusal)
    except Exception as error:  # the student's code crashed: say where, with the likely cause
        hint = ""
        if any(text in str(error) for text in DETACH_ERRORS):
            hint = " (did you detach the fakes before the discriminators' loss? D's update must not reach G)"
        elif "does not require grad" in str(error):
            hint = " (were the discriminators unfrozen before their update?)"
        return None, f"raised {type(error).__name__}: {str(error).splitlines()[0]}{hint}"
    if not isinstance(losses, dict) or set(LOSS_NAMES) - set(losses):
        return None, f"should return a dict with the losses {', '.join(LOSS_NAMES)}"
    return {name: float(losses[name]) for name in LOSS_NAMES}, None


def loss_difference(expected: dict[str, float], got: dict[str, float]) -> str | None:
    for name in LOSS_NAMES:
        if not torch.isclose(torch.tensor(got[name]), torch.tensor(expected[name]), **TOLERANCE):
            twice = name.startswith("D_") and abs(got[name] - 2 * expected[name]) <= 1e-5 * abs(expected[name])
            return (f"loss {name} is {got[name]:.6g}, expected {expected[name]:.6g}: "
                    f"{NOT_HALVED if twice else LOSS_HINTS[name]}")
    return None


def pool_difference(expected: CycleGAN, got: CycleGAN) -> str | None:
    for label, name in POOLS.items():
        want, have = getattr(expected, name).images, getattr(got, name).images
        if len(want) != len(have) or not all(torch.allclose(w, h, **TOLERANCE) for w, h in zip(want, have)):
            return (f"model.{label} holds {len(have)} image(s) that differ from the expected {len(want)}: query "
                    "each pool once per step with the fresh fakes, pool_fake_b.query(G(a).detach()) first, and "
                    "score what it returns")
    return None


def weight_difference(expected: CycleGAN, got: CycleGAN) -> str | None:
    for label, name in NETWORKS.items():
        want, have = getattr(expected, name), dict(getattr(got, name).named_parameters())
        skipped = normalized_biases(want)
        for parameter, value in want.named_parameters():
            if parameter in skipped or torch.allclose(have[parameter], value, **TOLERANCE):
                continue
            largest = float((have[parameter] - value).detach().abs().max())
            return f"{label}'s weights differ ({parameter}, by up to {largest:.1e}): {WEIGHT_HINTS[name]}"
    return None


def check_setting(answer: TrainStep, setting: str, seed: int, guarded: bool = True) -> str | None:
    """Run both steps under one setting; the first difference, or None. `guarded`: the answer may not
    call the model's own step methods (off only to check the package's step against itself)."""
    reference, student = tiny_model(SETTINGS[setting], seed), tiny_model(SETTINGS[setting], seed)
    recorder = StepRecorder(student)
    if guarded:
        guard_package_methods(student)
    expected_order = ["G", "D"] if reference.adversarial else ["G"]
    for step, (real_a, real_b) in enumerate(batches(seed), 1):
        torch.manual_seed(step)
        random.seed(step)
        with one_cpu_thread():  # tiny networks: one thread is as fast, and never waits on a busy CPU
            expected = reference.train_step(real_a, real_b)
            recorder.steps.clear()
            got, failure = run_answer(answer, student, real_a, real_b, step)
        if failure is None and recorder.problems:
            failure = recorder.problems[0]
        if failure is None and recorder.steps != expected_order:
            failure = (f"the optimizers stepped in the order {recorder.steps or 'none'}, expected {expected_order}: "
                       "one step of model.optimizer_g, then (with the GAN terms) one of model.optimizer_d")
        failure = (failure or loss_difference(expected, got) or pool_difference(reference, student)
                   or weight_difference(reference, student))
        if failure is not None:
            return f"{setting}, step {step}: {failure}"
    return None


def halving_effect(steps: int = STEPS, seed: int = 0) -> tuple[float, float]:
    """(how far D_Y's weights moved in `steps` package steps, how far D's loss left unhalved moves them).

    Appendix 7.1 halves D's objective, "which slows down the rate at which D learns". Adam divides each
    gradient by its own running scale, so a constant factor on a loss cancels but for Adam's eps: the
    second number is far smaller than the first. (Biases that instance norm cancels are left out, as in
    the checker.)
    """
    settings = SETTINGS["the authors' default (identity 0.5 lambda)"]
    halved, unhalved = tiny_model(settings, seed), tiny_model(settings, seed)
    unhalved.discriminator_objective = lambda *args: 2 * CycleGAN.discriminator_objective(unhalved, *args)
    compared = [name for name, _ in halved.discriminator_b.named_parameters()
                if name not in normalized_biases(halved.discriminator_b)]
    start = {name: p.detach().clone() for name, p in halved.discriminator_b.named_parameters()}
    with one_cpu_thread():
        for step, (real_a, real_b) in enumerate(batches(seed, steps), 1):
            for model in (halved, unhalved):
                torch.manual_seed(step)
                model.train_step(real_a, real_b)
    after = dict(halved.discriminator_b.named_parameters())
    other = dict(unhalved.discriminator_b.named_parameters())
    moved = max(float((after[name] - start[name]).detach().abs().max()) for name in compared)
    apart = max(float((after[name] - other[name]).detach().abs().max()) for name in compared)
    return moved, apart


def check_training_step(answer: TrainStep, seed: int = 0) -> bool:
    """answer(model, real_a, real_b) -> the losses of LOSS_NAMES, after one step of all four networks.

    Compared with `CycleGAN.train_step` on a seeded tiny model for STEPS steps in every setting of
    SETTINGS: the losses it returns, both history pools and every weight (within TOLERANCE; the conv
    biases that instance norm cancels are left out, see `normalized_biases`).
    """
    for setting in SETTINGS:
        try:
            failure = check_setting(answer, setting, seed)
        except NotImplementedError:
            return not_done(NAME)
        if failure is not None:
            return report(NAME, failure)
    return report(f"{NAME}: the package's losses, pools and weights after {STEPS} steps in each of "
                  f"{len(SETTINGS)} settings of the switches", None)
