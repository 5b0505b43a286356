"""One optimizer update of the train step (gantool.train.step): the gradients of a loss over a
replica's rows, accumulated over --grad-accum micro-batches, scaled for the replica count and
mixed_float16's loss scaling, applied once.

- `target(loss, opt)`: what is differentiated, loss / replicas (the optimizer sums the replicas'
  gradients), scaled by a LossScaleOptimizer (which unscales, and skips a step with overflow,
  when it applies them);
- `grads(...)`: one (micro-)batch's gradients, a variable the loss does not reach as zeros;
- `apply(...)`: K = 1 -> one batch; K > 1 -> the mean of K micro-batches, one micro-batch's
  activations alive at a time: a tf.while_loop on one device, the loop written out with control
  dependencies on several replicas (`unrolled`: replica-averaged variables, BatchNorm's moving
  statistics and stylegan2's tracked mean w, are assigned through merge_call, which TensorFlow
  refuses inside a while loop); the sums run in the same order either way.
A micro-batch's draws are rows [offset + j * m, ...) of the global batch (gantool.train.draws),
so a row's random numbers do not depend on how the batch is split.
"""

from __future__ import annotations

from gantool.tfquiet import import_tf
from gantool.train.draws import Draws


class Update:
    """`loss_fn(rows, alpha, draws, tape) -> (loss, [extras])` made into one optimizer step."""

    def __init__(self, replicas: int, accum: int, global_batch: int):
        self.tf = import_tf()
        self.replicas, self.accum, self.global_batch = replicas, max(1, int(accum)), int(global_batch)

    def apply(self, loss_fn, model, opt, real, alpha, key, offset, extras: int):
        """Gradients of the mean loss over `accum` micro-batches of `real` (this replica's rows,
        which start at row `offset` of the global batch), applied once; -> (loss, extras)."""
        variables = model.trainable_variables
        if self.accum == 1:
            grads, loss, aux = self.grads(loss_fn, variables, opt, real, alpha, key, offset)
        else:
            grads, loss, aux = self.accumulated(loss_fn, variables, opt, real, alpha, key, offset, extras)
        opt.apply_gradients(zip(grads, variables))
        return loss, aux

    def grads(self, loss_fn, variables, opt, rows, alpha, key, start):
        """Gradients of one (micro-)batch's loss, divided by the replica count and scaled under
        mixed_float16; -> (grads, loss, extras)."""
        draws = Draws(key, start, self.global_batch)
        with self.tf.GradientTape() as tape:
            loss, aux = loss_fn(rows, alpha, draws, tape)
            target = self.target(loss, opt)
        return self.dense(tape.gradient(target, variables), variables), loss, aux

    def target(self, loss, opt):
        """What is differentiated: the loss over the replica count (the optimizer sums the
        replicas' gradients), scaled by the LossScaleOptimizer under mixed_float16."""
        import keras  # noqa: PLC0415

        target = loss / self.replicas
        return opt.scale_loss(target) if isinstance(opt, keras.optimizers.LossScaleOptimizer) else target

    def dense(self, grads, variables):
        """Gradients with None (a variable the loss does not reach) as zeros."""
        return [self.tf.zeros(v.shape, v.dtype) if g is None else g for g, v in zip(grads, variables)]

    def accumulated(self, loss_fn, variables, opt, real, alpha, key, offset, extras: int):
        """The mean gradients, loss and extras of `accum` micro-batches, one alive at a time."""
        tf, accum = self.tf, self.accum
        m = real.shape[0] // accum
        start = (tf.constant(0), [tf.zeros(v.shape, v.dtype) for v in variables], tf.constant(0.0),
                 [tf.constant(0.0)] * extras)
        if self.replicas > 1:
            acc, loss_sum, aux_sum = self.unrolled(loss_fn, variables, opt, real, alpha, key, offset, start[1:])
        else:
            micro = tf.reshape(real, [accum, m, *real.shape[1:]])

            def body(j, acc, loss_sum, aux_sum):
                g, loss, aux = self.grads(loss_fn, variables, opt, tf.gather(micro, j), alpha, key, offset + j * m)
                return (j + 1, [a + b for a, b in zip(acc, g)], loss_sum + loss, [a + b for a, b in zip(aux_sum, aux)])

            _, acc, loss_sum, aux_sum = tf.while_loop(lambda j, *_: j < accum, body, start)
        return [a / accum for a in acc], loss_sum / accum, [a / accum for a in aux_sum]

    def unrolled(self, loss_fn, variables, opt, real, alpha, key, offset, start):
        """The micro-batch loop written out, for more than one replica. Each micro-batch waits
        for the previous one's sums (control dependencies), so one micro-batch's activations are
        alive at a time, as in the loop; the sums run in the same order."""
        tf, accum = self.tf, self.accum
        m = real.shape[0] // accum
        acc, loss_sum, aux_sum = start
        for j in range(accum):
            with tf.control_dependencies([*acc, loss_sum, *aux_sum] if j else []):
                g, loss, aux = self.grads(loss_fn, variables, opt, real[j * m:(j + 1) * m], alpha, key, offset + j * m)
            acc = [a + b for a, b in zip(acc, g)]
            loss_sum, aux_sum = loss_sum + loss, [a + b for a, b in zip(aux_sum, aux)]
        return acc, loss_sum, aux_sum
