"""A minimal PyTorch CPU DCGAN: the comparison point for bench/train_bench.py.

Same network and step as gantool's dcgan at 64 px with 64 filters: G z(100) -> 4x4x512 ->
8x8x256 -> 16x16x128 -> 32x32x64 -> 64x64x3 (ConvTranspose 4x4, BN, ReLU, tanh), D the mirror
(Conv 4x4 stride 2, LeakyReLU 0.2, BN after the first layer) ending in one score; no biases;
weights N(0, 0.02). One step: D update on D(real) and D(fake.detach()) with BCE-with-logits,
then G update (non-saturating loss); Adam 2e-4, betas (0.5, 0.999). Real data is one fixed random
batch, so only compute is timed.

--recipe fresh (default, what gantool's step does): the D update's G forward runs without
  autograd (torch.no_grad, as gantool's runs without a tape), and the G update draws fresh z and
  runs G again, so a step runs G forward twice.
--recipe reuse (pytorch/examples' dcgan): G runs forward once per step with autograd; the D update
  sees fake.detach(), and the G update backpropagates D(fake) through that same forward.
--compile: G and D wrapped in torch.compile(dynamic=False) (inductor; the default dynamic mode
  fails in inductor on this network). Compilation happens in the first warm-up step, so --warmup
  must be >= 1 with --compile; the JSON says how many graphs were compiled during the timed steps
  (should be 0) and how long the warm-up took.

--first-step: build the models, run one step (with --compile, compilation inside it), print a
  one-line JSON (framework, the step's D loss, torch version) and exit: bench/firststep_bench.py
  times the whole process as its launch-to-first-step case.

Timed: `--steps` steps after `--warmup` steps, the clock read after the last step's loss is on
the host (`.item()`). Threads: all usable cores (os.sched_getaffinity), torch.set_num_threads.
Torch is not a gantool dependency; run it from its own venv:
    python3 -m venv bench/.torch-venv && bench/.torch-venv/bin/pip install torch==2.13.0 numpy
    bench/.torch-venv/bin/python bench/torch_dcgan.py --json [--compile] [--recipe reuse]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from torch import nn


def levels(size: int) -> int:
    k = size.bit_length() - 1
    if size < 8 or 2 ** k != size:
        raise SystemExit(f"--size must be a power of two >= 8, got {size}")
    return k - 2  # 4 x 4 at the bottom


def chans(level: int, k: int, filters: int) -> int:
    return min(512, filters * 2 ** (k - 1 - level))


def generator(size: int, z_dim: int, filters: int, ch: int = 3) -> nn.Sequential:
    k = levels(size)
    f = [chans(i, k, filters) for i in range(k)]
    layers: list[nn.Module] = [nn.ConvTranspose2d(z_dim, f[0], 4, 1, 0, bias=False), nn.BatchNorm2d(f[0]), nn.ReLU(True)]
    for i in range(1, k):
        layers += [nn.ConvTranspose2d(f[i - 1], f[i], 4, 2, 1, bias=False), nn.BatchNorm2d(f[i]), nn.ReLU(True)]
    layers += [nn.ConvTranspose2d(f[k - 1], ch, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def discriminator(size: int, filters: int, ch: int = 3) -> nn.Sequential:
    k = levels(size)
    f = [chans(i, k, filters) for i in range(k)]
    layers: list[nn.Module] = [nn.Conv2d(ch, f[k - 1], 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True)]
    for i in range(k - 2, -1, -1):
        layers += [nn.Conv2d(f[i + 1], f[i], 4, 2, 1, bias=False), nn.BatchNorm2d(f[i]), nn.LeakyReLU(0.2, True)]
    layers += [nn.Conv2d(f[0], 1, 4, 1, 0, bias=False), nn.Flatten()]
    return nn.Sequential(*layers)


def init(m: nn.Module) -> None:
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def make_step(G, D, a, real):
    """One training step (D update, then G update) under --recipe; returns the D loss on the host."""
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    n = a.batch
    ones, zeros = torch.ones(n, 1), torch.zeros(n, 1)

    def z() -> torch.Tensor:
        return torch.rand(n, a.z_dim, 1, 1) * 2 - 1

    def step() -> float:
        if a.recipe == "reuse":
            fake = G(z())  # with autograd: the G update below backpropagates through it
        else:
            with torch.no_grad():
                fake = G(z())
        opt_d.zero_grad(set_to_none=True)
        d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        d_loss.backward()
        opt_d.step()
        opt_g.zero_grad(set_to_none=True)
        g_loss = bce(D(fake if a.recipe == "reuse" else G(z())), ones)
        g_loss.backward()
        opt_g.step()
        return d_loss.item()

    return step


def graphs_compiled() -> int:
    """How many graphs dynamo has compiled so far in this process (0 without --compile)."""
    try:
        from torch._dynamo.utils import counters
    except ImportError:  # pragma: no cover - private API moved
        return -1
    return int(counters["stats"]["unique_graphs"])


def models(a) -> tuple[nn.Module, nn.Module, dict]:
    """G and D with every usable core, seeded and initialised (wrapped by torch.compile with
    --compile), and their parameter counts."""
    torch.set_num_threads(len(os.sched_getaffinity(0)))
    torch.manual_seed(0)
    G, D = generator(a.size, a.z_dim, a.filters), discriminator(a.size, a.filters)
    G.apply(init)
    D.apply(init)
    params = {"params_g": sum(p.numel() for p in G.parameters()), "params_d": sum(p.numel() for p in D.parameters())}
    if a.compile:
        G, D = torch.compile(G, dynamic=False), torch.compile(D, dynamic=False)
    return G, D, params


def first_step(a) -> dict:
    """Build G and D (compiled with --compile) and run one full step; nothing else."""
    G, D, _ = models(a)
    d_loss = make_step(G, D, a, torch.rand(a.batch, 3, a.size, a.size) * 2 - 1)()
    return {"framework": "pytorch" + (" compile" if a.compile else " eager"), "first_step": True,
            "d_loss": d_loss, "torch_version": torch.__version__}


def bench(a) -> dict:
    G, D, params = models(a)
    threads = len(os.sched_getaffinity(0))
    real = torch.rand(a.batch, 3, a.size, a.size) * 2 - 1
    step = make_step(G, D, a, real)

    t0 = time.perf_counter()
    for _ in range(a.warmup):  # with --compile: tracing and inductor compilation happen here
        step()
    warmup_s = time.perf_counter() - t0
    graphs0 = graphs_compiled()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    train_s = time.perf_counter() - t0
    graphs_timed = graphs_compiled() - graphs0

    G.eval()
    z = torch.rand(a.batch, a.z_dim, 1, 1) * 2 - 1
    with torch.inference_mode():
        for _ in range(2):  # with --compile: G's inference graph compiles here
            G(z)
        t0 = time.perf_counter()
        for _ in range(a.gen_steps):
            G(z)
        gen_s = time.perf_counter() - t0

    name = "pytorch" + (" compile" if a.compile else " eager") + (" reuse" if a.recipe == "reuse" else "")
    return {"framework": name, "torch_version": torch.__version__, "compile": a.compile, "recipe": a.recipe,
            "threads": threads, "torch_threads": torch.get_num_threads(), "size": a.size, "batch": a.batch,
            "steps": a.steps, "warmup": a.warmup, "warmup_s": warmup_s, "train_s": train_s,
            "graphs_compiled_while_timed": graphs_timed,
            "train_img_per_s": a.steps * a.batch / train_s, "gen_img_per_s": a.gen_steps * a.batch / gen_s, **params}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--z-dim", type=int, default=100)
    ap.add_argument("--filters", type=int, default=64)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--gen-steps", type=int, default=20)
    ap.add_argument("--recipe", choices=["fresh", "reuse"], default="fresh",
                    help="fresh: G update on fresh z (gantool's step); reuse: on the D update's fake batch")
    ap.add_argument("--compile", action="store_true", help="torch.compile(dynamic=False) G and D (inductor)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--first-step", action="store_true", help="build, run one step, exit (launch-to-first-step timing)")
    a = ap.parse_args()
    if a.first_step:
        print(json.dumps(first_step(a)))
        return
    if a.steps < 1 or a.gen_steps < 1:
        ap.error("--steps and --gen-steps must be >= 1")
    if a.compile and a.warmup < 1:
        ap.error("--compile needs --warmup >= 1 (compilation must not be timed)")

    out = bench(a)
    if a.json:
        print(json.dumps(out))
    else:
        print(f"PyTorch {out['torch_version']} ({out['framework']}) DCGAN {a.size}px batch {a.batch}: "
              f"train {out['train_img_per_s']:.1f} img/s, generate {out['gen_img_per_s']:.1f} img/s, "
              f"params G {out['params_g']:,} D {out['params_d']:,}, warm-up {out['warmup_s']:.1f} s")


if __name__ == "__main__":
    main()
