"""eval's files: report.html (one self-contained page: images inline as base64, no scripts, no
network), report.json (written last: its presence means the evaluation completed) and one line
per metric appended to metrics.jsonl (the run's own log, or OUT/metrics.jsonl for --fake).
Each metric brings its own summary line, log fields and report section (gantool/eval/metric.py)."""

from __future__ import annotations

import base64
import html
import json
import time
from pathlib import Path

from gantool import __version__
from gantool.atomic import write_bytes, write_json
from gantool.eval.metric import img_tag
from gantool.eval.metrics import METRICS
from gantool.run.checkpoints import generator_step
from gantool.run.layout import metrics_path
from gantool.run.metrics import MetricsLog, losses_png

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse}td,th{padding:.3em .8em;text-align:left;vertical-align:top;border-bottom:1px solid #eee}
th{background:#f5f5f5}.num{font-family:ui-monospace,monospace}.note{color:#8a4b00}
img{image-rendering:pixelated;max-width:100%;border:1px solid #ccc}small{color:#666}
"""


def _img_bytes(png: bytes | None, alt: str) -> str:
    if not png:
        return f"<p><small>({html.escape(alt)}: no training log)</small></p>"
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}">'


def _rows(pairs) -> str:
    return "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in pairs)


def render_html(result, cfg, losses: bytes | None, history: dict) -> str:
    src = result.source
    title = src.get("generator") or src.get("path") or "images"
    metric_rows = []
    for name, r in result.metrics.items():
        m = METRICS.get(name)
        val = r.get("summary") or f"not computed: {r.get('error', '')}"
        metric_rows.append(f"<tr><th>{html.escape(m.title)}</th><td class=num>{html.escape(val)}</td>"
                           f"<td><small>{m.better_note}</small></td></tr>")
    net = result.network
    net_html = ("<p>No Inception network was used.</p>" if net is None else
                f"<p>Features: <b>{html.escape(net['name'])}</b> <small>({html.escape(net['source'])})</small><br>"
                f"<span class={'' if net['comparable'] else 'note'}>{html.escape(net['note'])}</span></p>"
                + _checks_html(net))
    notes = "".join(f"<li class=note>{html.escape(n)}</li>" for n in result.notes)
    hist = ""
    if history:
        rows = "".join(f"<tr><th>{html.escape(k)}</th><td class=num>{html.escape(', '.join(v))}</td></tr>"
                       for k, v in history.items())
        hist = f"<h2>Earlier evaluations of this run (step: value)</h2><table>{rows}</table>"
    sections = "".join(METRICS.get(name).html(r, result.files) for name, r in result.metrics.items()
                       if METRICS.get(name).html is not None and r.get("value") is not None)
    settings = {k: v for k, v in cfg.to_dict().items() if v is not None}
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gantool eval: {html.escape(Path(title).name)}</title>
<style>{CSS}</style></head><body>
<h1>gantool eval</h1>
<table>{_rows([("images", f"{src['images']} from {title}"), ("real data", f"{result.data['images']} images of {result.data['path']} at {result.data['size']} px"), ("written", time.strftime("%Y-%m-%d %H:%M:%S")), ("gantool", __version__), ("time", f"{result.seconds:.1f} s")])}</table>
{f"<ul>{notes}</ul>" if notes else ""}
<h2>Metrics</h2>
<table>{"".join(metric_rows)}</table>
{net_html}
{hist}
<h2>Generated images</h2>
{img_tag(result.files.get("grid"), "generated images")}
<h2>Training losses</h2>
{_img_bytes(losses, "loss curves")}
{sections}
<h2>Settings</h2>
<table>{_rows(settings.items())}</table>
</body></html>
"""


def metric_lines(result, step: int | None, when: float) -> list[dict]:
    """One metrics.jsonl record per metric: the headline value plus what it was measured on."""
    base = {"kind": "eval", "time": when, "report": str(Path(result.out) / "report.json"),
            "count": result.source["images"], "real_count": result.data["images"],
            "network": result.network["name"] if result.network else None}
    if step is not None:
        base["step"] = step
    if result.source.get("generator"):
        base["generator"] = result.source["generator"]
    lines = []
    for name, r in result.metrics.items():
        if r.get("value") is None:
            continue
        rec = {**base, "metric": name, "value": r["value"]}
        for k, as_ in METRICS.get(name).log_fields:
            if r.get(k) is not None:
                rec[as_] = r[k]
        lines.append(rec)
    return lines


def report_doc(result, cfg) -> dict:
    return {"schema": 1, "kind": "gantool.eval", "gantool_version": __version__, "settings": cfg.to_dict(),
            **json.loads(json.dumps(result.to_dict()))}


def write_report_json(result, cfg, out: Path) -> None:
    write_json(out / "report.json", report_doc(result, cfg))


def write_reports(result, cfg, st, out: Path) -> None:
    log = MetricsLog(metrics_path(st.run_dir if st.run_dir is not None else out))
    records = log.read()
    history: dict[str, list[str]] = {}
    for r in records:
        if r.get("kind") == "eval" and "metric" in r and isinstance(r.get("value"), (int, float)):
            history.setdefault(r["metric"], []).append(f"{r.get('step', '?')}: {r['value']:.4g} (n={r.get('count', '?')})")
    losses = losses_png(records) if st.run_dir is not None else None
    write_bytes(out / "report.html", render_html(result, cfg, losses, history).encode("utf-8"))
    result.files["html"] = str(out / "report.html")
    step = generator_step(result.source.get("generator"))
    result.source["step"] = step
    result.files["json"] = str(out / "report.json")
    result.files["metrics_log"] = str(log.path)
    write_report_json(result, cfg, out)
    for rec in metric_lines(result, step, time.time()):
        log.append(rec)


def _checks_html(net: dict) -> str:
    """What was checked to call the network the 2015 FID graph (gantool.eval.inception_check)."""
    rows = "".join(f"<li>{'ok' if c['ok'] else 'FAILED'}: {html.escape(c['fact'])} <small>({html.escape(c['source'])})</small></li>"
                   for c in net.get("checks", []))
    ident = f"sha256 {net.get('sha256')}, {net.get('bytes')} bytes" if net.get("sha256") else ""
    return f"<p><small>{html.escape(ident)}</small></p><ul>{rows}</ul>" if rows or ident else ""
