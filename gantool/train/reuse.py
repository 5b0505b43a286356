"""--reuse-fake: one G forward per train step, the recipe of dcgan.torch and pytorch/examples.

The replica's half of `Step.train_step` when cfg.reuse_fake is on (gantool.train.step):
  1. fake = G(z) once, with z from the D update's draws (the same z the plain step's D update
     uses), on a tape that watches G's weights only.
  2. D update on real and stop_gradient(fake): D's tape is its own, watches D's weights only
     and never runs G, so the plain step's d_loss with its penalties (R1, wgan-gp's gradient
     penalty on mixes of real and this fake, drift) applies unchanged.
  3. G update: the same fake images, augmented and noised with the G update's draws, scored by
     D after its update; G's gradients flow back through the forward of step 1.
Inside the compiled step, D's apply_gradients writes D's weights before the G loss reads them:
TensorFlow's automatic control dependencies keep resource reads and writes in program order.

What changes in results, compared with the plain step: one G forward fewer per step; G's
BatchNorm moving statistics move once per step instead of twice; G's update sees the z of D's
update rather than fresh z. Under a tf.distribute strategy each replica makes its own rows'
fakes, as in the plain step. gantool.config refuses it with --grad-accum > 1, with --alt-every
and for variants with a training recipe (their refuses entry).
"""

from __future__ import annotations

from gantool.train.draws import Draws


def replica_train(step, batch, alpha, kd, kg):
    """One replica's D update then G update on one G forward; -> the replica's losses and scores."""
    tf = step.tf
    real = step.real_view(batch, alpha)
    offset = step.replica_offset(real)
    d_draws = Draws(kd, offset, step.global_batch)
    g_vars, opt_g = step.G.trainable_variables, step.state.opt_g
    with tf.GradientTape(watch_accessed_variables=False) as g_tape:
        watch(g_tape, g_vars)
        fake = step.fake(real.shape[0], alpha, d_draws)
        with g_tape.stop_recording():
            d_loss, scores = d_update(step, real, tf.stop_gradient(fake), alpha, d_draws)
        g_loss, extras = step.g_loss_on(real, fake, alpha, Draws(kg, offset, step.global_batch))
        target = step.upd.target(g_loss, opt_g)  # on the tape: the scaling is part of what is differentiated
    apply(step, g_tape, target, g_vars, opt_g)
    return {"d_loss": d_loss, "g_loss": g_loss, **scores, **dict(zip(step.g_names, extras))}


def d_update(step, real, fake, alpha, draws):
    """D's update on real and the given (gradient-stopped) fakes; -> (loss, {mean scores})."""
    d_vars, opt_d = step.D.trainable_variables, step.state.opt_d
    with step.tf.GradientTape(watch_accessed_variables=False) as d_tape:
        watch(d_tape, d_vars)
        loss, aux = step.d_loss_on(real, fake, alpha, draws)
        target = step.upd.target(loss, opt_d)
    apply(step, d_tape, target, d_vars, opt_d)
    return loss, dict(zip(step.d_names, aux))


def watch(tape, variables):
    """Record these (Keras) variables only: the tape sees no other model's weights."""
    for v in variables:
        tape.watch(getattr(v, "value", v))


def apply(step, tape, target, variables, opt):
    """One optimizer update from the tape's gradients of `target` (Update.target of the loss)."""
    opt.apply_gradients(zip(step.upd.dense(tape.gradient(target, variables), variables), variables))
