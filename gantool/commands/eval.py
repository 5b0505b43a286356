"""`gantool eval [score] RUN|--fake X` and `gantool eval quiz`: options -> EvalConfig/QuizConfig
-> library -> table or JSON. `score` is the default subcommand, so `gantool eval RUN` works."""

from __future__ import annotations

from typing import Optional

import typer
from gantool import console
from gantool.commands.quickhelp import QuickHelpGroup
from gantool.eval.config import EvalConfig, QuizConfig


class DefaultScore(QuickHelpGroup):
    """A group whose first argument, when it is not a subcommand name, starts `score`."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["score", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=DefaultScore, no_args_is_help=True, add_completion=False,
    help="Measure a generator or a folder of images against a dataset: FID, KID, precision/recall, "
         "MS-SSIM diversity, nearest neighbours; or build a real-or-generated quiz page. "
         "`gantool eval RUN` is `gantool eval score RUN`.")

RUN_HELP = "A run folder (its latest generator), a generator .keras file, or a checkpoint prefix runs/X/checkpoints/ckpt-N."


@eval_app.command("score")
def score(
    run: Optional[str] = typer.Argument(None, help=RUN_HELP),
    fake: Optional[str] = typer.Option(None, "--fake", help="Score these images instead of a run: a folder of image files or an .npz ('images': uint8 NHWC)."),
    data: Optional[str] = typer.Option(None, "--data", help="The real dataset (a `gantool prep` folder). Default: the run's dataset."),
    metrics: str = typer.Option(EvalConfig.metrics, "--metrics", "-m", help="Comma list of fid, kid, pr, msssim, nn."),
    count: int = typer.Option(EvalConfig.count, "--count", "-n", help="Generated images (with --fake: read at most this many)."),
    real_count: Optional[int] = typer.Option(None, "--real-count", help="Real images (a seeded random subset). Default: the whole dataset, up to 50,000."),
    inception: Optional[str] = typer.Option(None, "--inception", help="Inception network file: classify_image_graph_def.pb (standard FID) or Keras InceptionV3 no-top .h5 weights. Default: $GANTOOL_INCEPTION, else ~/.cache/gantool/classify_image_graph_def.pb."),
    pairs: int = typer.Option(EvalConfig.pairs, "--pairs", help="MS-SSIM: random pairs per set."),
    msssim_size: int = typer.Option(EvalConfig.msssim_size, "--msssim-size", help="MS-SSIM: images larger than this are box-filtered down to it."),
    nn_count: int = typer.Option(EvalConfig.nn_count, "--nn-count", help="nn: generated images whose nearest training images are measured."),
    nn_show: int = typer.Option(EvalConfig.nn_show, "--nn-show", help="nn: rows in nn.png."),
    nn_k: int = typer.Option(EvalConfig.nn_k, "--nn-k", help="nn: neighbours per row."),
    pr_k: int = typer.Option(EvalConfig.pr_k, "--pr-k", help="pr: k of the k-NN manifolds."),
    kid_subsets: int = typer.Option(EvalConfig.kid_subsets, "--kid-subsets", help="KID: random subsets averaged."),
    kid_subset_size: int = typer.Option(EvalConfig.kid_subset_size, "--kid-subset-size", help="KID: images per subset."),
    seed: int = typer.Option(0, "--seed", help="Image i uses z from (seed, i), as in `gantool sample`; also seeds subsets and pairs."),
    zrange: Optional[float] = typer.Option(None, "--zrange", help="Uniform-z models: z ~ U(-R, R)."),
    truncation: Optional[float] = typer.Option(None, "--truncation", help="Normal-z models: redraw components with |z| > T."),
    ema: Optional[bool] = typer.Option(None, "--ema/--no-ema", help="Use the EMA generator (default: when the run has one)."),
    resolution: Optional[int] = typer.Option(None, "--resolution", help="pggan: evaluate a completed stage."),
    batch: int = typer.Option(EvalConfig.batch, "--batch", help="Images per batch (bounds memory)."),
    out: Optional[str] = typer.Option(None, "--out", help="Report folder. Default: RUN/eval/<generator>-n<count>-seed<seed>, or <fake>-eval beside --fake."),
    cache: bool = typer.Option(True, "--cache/--no-cache", help="Reuse cached real-data features ($GANTOOL_CACHE, default ~/.cache/gantool)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the settings as JSON and stop."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the result on stdout, nothing else."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
) -> None:
    """Score a run (or --fake images) against real data; write report.json, report.html, nn.png."""
    cfg = EvalConfig(run=run, fake=fake, data=data, metrics=metrics, count=count, real_count=real_count,
                     inception=inception, pairs=pairs, msssim_size=msssim_size, nn_count=nn_count, nn_show=nn_show,
                     nn_k=nn_k, pr_k=pr_k, kid_subsets=kid_subsets, kid_subset_size=kid_subset_size, seed=seed,
                     zrange=zrange, truncation=truncation, ema=ema, resolution=resolution, batch=batch, out=out,
                     cache=cache).validate()
    if dry_run:
        console.dry_run("eval", cfg.to_dict(), as_json)
        return
    from gantool.eval.run import run_eval  # noqa: PLC0415

    with console.progress("eval", "img", enabled=not quiet) as cb:
        result = run_eval(cfg, progress=cb)
    if as_json:
        console.emit_json({"command": "eval", "ok": True, **result.to_dict()})
        return
    from gantool.eval.metrics import METRICS  # noqa: PLC0415

    rows = [(METRICS.get(n).title, r.get("summary") or f"not computed: {r.get('error')}") for n, r in result.metrics.items()]
    rows += [("network", f"{result.network['name']}" + ("" if result.network["comparable"] else " (not comparable with published FIDs)"))
             if result.network else ("network", "none")]
    rows += [("images", f"{result.source['images']} generated/fake vs {result.data['images']} real at {result.data['size']} px"),
             ("report", result.files["html"]), ("time", f"{result.seconds:.1f} s")]
    rows += [("note", n) for n in result.notes]
    console.print_table("eval", rows)


@eval_app.command("quiz")
def quiz(
    run: Optional[str] = typer.Argument(None, help=RUN_HELP),
    fake: Optional[str] = typer.Option(None, "--fake", help="Use these images as the generated ones: a folder of image files or an .npz."),
    data: Optional[str] = typer.Option(None, "--data", help="The real dataset. Default: the run's dataset."),
    count: int = typer.Option(20, "--count", "-n", help="Real images and generated images, each."),
    seed: int = typer.Option(0, "--seed", help="Chooses the real images, the generated ones (z from (seed, i)) and the order."),
    zrange: Optional[float] = typer.Option(None, "--zrange", help="Uniform-z models: z ~ U(-R, R)."),
    truncation: Optional[float] = typer.Option(None, "--truncation", help="Normal-z models: |z| <= T."),
    ema: Optional[bool] = typer.Option(None, "--ema/--no-ema", help="Use the EMA generator (default: when the run has one)."),
    resolution: Optional[int] = typer.Option(None, "--resolution", help="pggan: a completed stage."),
    display: int = typer.Option(192, "--display", help="Side in px at which images are shown."),
    out: Optional[str] = typer.Option(None, "--out", help="The page. Default: RUN/eval/quiz-seed<seed>-n<count>.html."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the settings as JSON and stop."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object with the result on stdout, nothing else."),
) -> None:
    """A real-or-generated quiz page for people (offline HTML); it shows the realness percentages."""
    cfg = QuizConfig(run=run, fake=fake, data=data, count=count, seed=seed, out=out, zrange=zrange,
                     truncation=truncation, ema=ema, resolution=resolution, display=display).validate()
    if dry_run:
        console.dry_run("eval quiz", cfg.to_dict(), as_json)
        return
    from gantool.eval.quiz import build_quiz  # noqa: PLC0415

    result = build_quiz(cfg)
    if as_json:
        console.emit_json({"command": "eval quiz", "ok": True, **result.to_dict()})
        return
    console.print_table("eval quiz", [
        ("page", result.out),
        ("images", f"{result.images} ({result.real} real, {result.generated} generated), shuffled"),
        ("answers", result.key),
        ("next", "open the page in a browser; each participant answers, then 'Show results'"),
    ])
