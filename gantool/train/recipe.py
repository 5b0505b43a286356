"""A variant's training recipe: what its step does beyond the engine's plain D and G updates.

A ModelSpec may declare `recipe(cfg, G)`; the engine (gantool.train.state, gantool.train.step)
then calls these hooks, and never asks which variant it trains. The interface, with what the
engine does with each:

  variables()          name -> tf.Variable kept in the run's checkpoint (e.g. a running mean)
  adam(which, lr, b1, b2) -> (lr, b1, b2) of G's ('g') or D's ('d') Adam
  keeps_ema            True: G has an EMA copy whatever --ema says; ema(G_ema, G, images, batch)
                       then updates it (instead of the engine's --ema decay)
  r1_gamma, r1_interval  R1 weight and its lazy interval (the term is gamma / 2 * interval * R1
                       on the 0-based steps that are multiples of the interval)
  pl_interval          the G penalty's lazy interval (g_penalty runs on the multiples of it)
  begin_step(G, key)   before a step's updates (e.g. reseed G's noise from the step's key)
  generate(z, draws, training) -> fake images (replaces G(z))
  g_penalty(n, draws)  -> (weighted term added to G's loss, its raw value, new value of a
                       tracked mean) on the steps where it is due; the new mean is averaged
                       over micro-batches and replicas and assigned by the engine
  track(new)           assign the averaged new tracked mean (cross-replica context)
"""
