"""hdcgan: the HDCGAN report (Curto et al.): the DCGAN topology with BatchNorm + SELU ("BS")
blocks in G and D instead of ReLU / LeakyReLU, and additive Gaussian noise on the inputs of
D (the images, --instance-noise) and G (z, --g-noise), both annealed linearly to 0 over the run.
Defaults from the report: Adam 2e-4 (beta1 0.5), batch 32, 64 filters.
"""

from __future__ import annotations

from gantool.models.base import VARIANTS, ModelSpec, factor_size
from gantool.models.dcgan import conv_discriminator, conv_generator


def check(size: int, cfg) -> None:
    factor_size(size)


def build(cfg):
    return conv_generator(cfg, "selu"), conv_discriminator(cfg, "selu")


VARIANTS.register("hdcgan")(ModelSpec(
    name="hdcgan",
    summary="HDCGAN: DCGAN with BatchNorm+SELU blocks and annealed noise on D's and G's inputs",
    build=build,
    check=check,
    defaults={"batch": 32, "filters": 64, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "kernel": 4,
              "instance_noise": 0.1, "g_noise": 0.1},
    honours=frozenset({"filters", "max_filters", "kernel", "spectral_norm", "d_bias", "out_gain"}),
))
