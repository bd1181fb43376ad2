"""Notebook 08's training-step exercise: the checker passes right answers and names the mistake in wrong ones."""

import functools

import pytest

from cyclegan_edu.adversarial import set_requires_grad
from cyclegan_edu.course import step_exercise
from cyclegan_edu.cycle_consistency import cycle_loss
from cyclegan_edu.cyclegan import GENERATOR_TERMS, CycleGAN
from cyclegan_edu.identity_loss import identity_loss
from cyclegan_edu.patchgan import build_discriminator


def student_step(model: CycleGAN, real_a, real_b, *, detach=True, freeze=True, zero_d=True, identity=True,
                 pool=True, halve=True, d_first=False, reversed_order=False):
    """A student's answer, written apart from the package's; each keyword can switch one step off."""
    G, F, D_Y, D_X = model.generator_ab, model.generator_ba, model.discriminator_b, model.discriminator_a
    lam, zero = model.cycle_weight, real_a.new_zeros(())
    fake_b, fake_a = G(real_a), F(real_b)
    losses = dict.fromkeys((*GENERATOR_TERMS, "D_a", "D_b"), zero)

    def discriminators_step():
        set_requires_grad([D_X, D_Y], True)
        if not model.adversarial:
            return
        if zero_d:
            model.optimizer_d.zero_grad()
        for name, D, real, fake, history in (("D_b", D_Y, real_b, fake_b, model.pool_fake_b),
                                             ("D_a", D_X, real_a, fake_a, model.pool_fake_a)):
            fake = fake.detach() if detach else fake
            shown = history.query(fake) if pool else fake
            total = model.gan_loss(D(real), True) + model.gan_loss(D(shown), False)
            losses[name] = total / 2 if halve else total
            losses[name].backward()
        model.optimizer_d.step()

    if d_first:
        discriminators_step()
    if freeze:
        set_requires_grad([D_X, D_Y], False)
    terms = []
    if model.adversarial:
        losses["G_gan_ab"], losses["G_gan_ba"] = model.gan_loss(D_Y(fake_b), True), model.gan_loss(D_X(fake_a), True)
        terms += [losses["G_gan_ab"], losses["G_gan_ba"]]
    if model.forward_cycle:
        losses["cycle_a"] = lam * cycle_loss(real_a, F(fake_b))
        terms.append(losses["cycle_a"])
    if model.backward_cycle:
        losses["cycle_b"] = lam * cycle_loss(real_b, G(fake_a))
        terms.append(losses["cycle_b"])
    if identity and model.identity_weight > 0:
        losses["identity_b"] = model.identity_weight * lam * identity_loss(real_b, G(real_b))
        losses["identity_a"] = model.identity_weight * lam * identity_loss(real_a, F(real_a))
        terms += [losses["identity_b"], losses["identity_a"]]
    losses["G_total"] = sum(reversed(terms) if reversed_order else terms)
    model.optimizer_g.zero_grad()
    losses["G_total"].backward()
    model.optimizer_g.step()
    if not d_first:
        discriminators_step()
    return {name: value.item() for name, value in losses.items()}


def failure_of(answer, capsys) -> str:
    assert step_exercise.check_training_step(answer) is False
    return capsys.readouterr().out


@pytest.mark.parametrize("setting", step_exercise.SETTINGS)
def test_the_package_step_matches_itself_in_every_setting(setting):
    def package_step(model, real_a, real_b):
        return model.train_step(real_a, real_b)
    assert step_exercise.check_setting(package_step, setting, seed=0, guarded=False) is None


def test_an_answer_that_calls_the_package_step_is_refused(capsys):
    output = failure_of(lambda model, real_a, real_b: model.train_step(real_a, real_b), capsys)
    assert "your step called model.train_step" in output


def test_a_right_answer_passes(capsys):
    assert step_exercise.check_training_step(student_step)
    assert capsys.readouterr().out.startswith("PASS")


def test_a_right_answer_that_adds_in_another_order_passes():
    assert step_exercise.check_training_step(functools.partial(student_step, reversed_order=True))


@pytest.mark.parametrize("mistake, message", [
    (dict(detach=False), "detach the fakes"),
    (dict(freeze=False), "not frozen during G's update"),
    (dict(zero_d=False), "D_Y (discriminator_b)'s weights differ"),
    (dict(identity=False), "loss identity_a is 0"),
    (dict(pool=False), "pool_fake_b"),
    (dict(halve=False), "twice the expected value"),
    (dict(d_first=True), "order"),
])
def test_a_wrong_answer_fails_with_its_hint(mistake, message, capsys):
    output = failure_of(functools.partial(student_step, **mistake), capsys)
    assert output.startswith("FAIL") and message in output, output


def test_ungrounded_gradients_are_missed_by_step_two_not_step_one(capsys):
    output = failure_of(functools.partial(student_step, zero_d=False), capsys)
    assert "step 2" in output  # the first step has no gradients left over to add


def test_an_unhalved_d_loss_leaves_adams_weights_almost_unchanged():
    """Why the checker compares the losses too: Adam divides a gradient by its own scale."""
    moved, apart = step_exercise.halving_effect()
    assert 0 < apart < 0.05 * moved  # it did differ, by a small fraction of the step


def test_normalized_biases_are_those_right_before_an_instance_norm():
    patch = build_discriminator("patch70", 8, 32)  # C64 (no norm), C128, C256, C512 (each with IN), the score conv
    assert step_exercise.normalized_biases(patch) == {"2.bias", "5.bias", "8.bias"}
    generator = step_exercise.tiny_model({}, 0).generator_ab
    biases = {name for name, _ in generator.named_parameters() if name.endswith(".bias")}
    assert biases - step_exercise.normalized_biases(generator) == {"model.18.bias"}  # the c7s1-3 head, before tanh


def test_a_not_attempted_exercise_is_not_done_yet_and_does_not_raise(capsys):
    def not_yet(model, real_a, real_b):
        raise NotImplementedError()
    assert step_exercise.check_training_step(not_yet) is False
    assert capsys.readouterr().out.startswith("NOT DONE YET")
