"""`gantool eval quiz`: the dogs report's human test. One self-contained HTML page (images
inline, a little JavaScript, no network) shows N real and N generated images shuffled; each
participant clicks "real" or "generated" for every image and sees the realness percentages:
the share of real images judged real and of generated images judged real, overall and per
image across participants (kept in the page's localStorage, so several people can take turns
at one browser). quiz-key.json beside the page records which image is which.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gantool import __version__
from gantool.atomic import write_bytes, write_json
from gantool.eval.run import setup
from gantool.images import encode_png


@dataclass
class QuizResult:
    out: str
    key: str
    images: int
    real: int
    generated: int
    seconds: float

    def to_dict(self) -> dict:
        return {"out": self.out, "key": self.key, "images": self.images, "real": self.real,
                "generated": self.generated, "seconds": round(self.seconds, 3)}


def _default_out(cfg, st) -> Path:
    if st.run_dir is not None:
        return st.run_dir / "eval" / f"quiz-seed{cfg.seed}-n{cfg.count}.html"
    fake = Path(cfg.fake)
    return fake.parent / f"{fake.stem}-quiz.html"


def build_quiz(cfg, progress=None) -> QuizResult:
    t0 = time.monotonic()
    st = setup(cfg, cfg.count, cfg.count)
    fakes = np.concatenate(list(st.fake.batches(64)))[:cfg.count]
    reals = np.concatenate(list(st.real.batches(64)))
    if progress:
        progress(len(fakes) + len(reals), len(fakes) + len(reals))
    items = [("real", img, {"dataset_index": int(i)}) for img, i in zip(reals, st.real.indices)]
    items += [("generated", img, {"index": i}) for i, img in enumerate(fakes)]
    order = np.random.default_rng([cfg.seed, 23]).permutation(len(items))
    shuffled = [items[i] for i in order]
    ident = json.dumps([str(st.dataset), st.fake_desc, cfg.seed, cfg.count], sort_keys=True, default=str)
    quiz_id = "gantool-quiz-" + hashlib.sha256(ident.encode()).hexdigest()[:12]
    page = render_quiz([img for _, img, _ in shuffled], [k for k, _, _ in shuffled], cfg.display, quiz_id)
    out = Path(cfg.out) if cfg.out else _default_out(cfg, st)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(out, page.encode("utf-8"))
    key = out.with_name(out.stem + "-key.json")
    write_json(key, {"schema": 1, "kind": "gantool.quiz", "gantool_version": __version__, "quiz": quiz_id,
                     "page": str(out), "source": st.fake_desc, "data": str(st.dataset), "settings": cfg.to_dict(),
                     "images": [{"position": n + 1, "kind": k, **meta} for n, (k, _, meta) in enumerate(shuffled)]})
    return QuizResult(str(out), str(key), len(shuffled), len(reals), len(fakes), time.monotonic() - t0)


QUIZ_JS = r"""
const N = LABELS.length, answers = new Array(N).fill(null);
const store = 'gantool:' + QUIZ_ID;
function tallies() { try { return JSON.parse(localStorage.getItem(store)) || []; } catch (e) { return []; } }
function pick(i, said) {
  answers[i] = said;
  const card = document.getElementById('c' + i);
  card.querySelectorAll('button').forEach(b => b.classList.toggle('on', b.dataset.say === said));
  const left = answers.filter(a => a === null).length;
  document.getElementById('left').textContent = left ? left + ' left' : 'all answered';
  document.getElementById('done').disabled = left > 0;
}
function pct(a, b) { return b ? (100 * a / b).toFixed(0) + ' %' : '-'; }
function finish() {
  const all = tallies(); all.push(answers.slice());
  try { localStorage.setItem(store, JSON.stringify(all)); } catch (e) {}
  show(all, true);
}
function show(all, mine) {
  let rr = 0, rn = 0, fr = 0, fn = 0;
  const per = new Array(N).fill(0);
  all.forEach(run => run.forEach((a, i) => {
    if (a === 'real') per[i]++;
    if (LABELS[i] === 'real') { rn++; if (a === 'real') rr++; } else { fn++; if (a === 'real') fr++; }
  }));
  const you = mine ? answers.filter((a, i) => (a === 'real') === (LABELS[i] === 'real')).length : null;
  let h = '<h2>Results (' + all.length + ' participant' + (all.length === 1 ? '' : 's') + ')</h2>';
  if (you !== null) h += '<p>Your answers: ' + you + ' of ' + N + ' right.</p>';
  h += '<table><tr><th></th><th>judged real</th></tr>'
     + '<tr><td>real images</td><td>' + pct(rr, rn) + '</td></tr>'
     + '<tr><td>generated images</td><td>' + pct(fr, fn) + '</td></tr></table>';
  h += '<p>Realness per image (share of participants who said "real"):</p>';
  document.getElementById('result').innerHTML = h;
  for (let i = 0; i < N; i++) {
    const tag = document.getElementById('t' + i);
    tag.textContent = (LABELS[i] === 'real' ? 'real' : 'generated') + ' \u2013 realness ' + pct(per[i], all.length);
    tag.className = 'tag ' + LABELS[i];
  }
  document.getElementById('json').value = JSON.stringify({quiz: QUIZ_ID, participants: all.length,
    real_judged_real: rn ? rr / rn : null, generated_judged_real: fn ? fr / fn : null,
    per_image_realness: per.map(p => p / all.length), labels: LABELS}, null, 1);
  document.getElementById('after').style.display = 'block';
  document.getElementById('done').disabled = true;
}
function next() {
  answers.fill(null);
  document.querySelectorAll('button.say').forEach(b => b.classList.remove('on'));
  document.querySelectorAll('.tag').forEach(t => { t.textContent = ''; t.className = 'tag'; });
  document.getElementById('result').innerHTML = '';
  document.getElementById('after').style.display = 'none';
  document.getElementById('left').textContent = N + ' left';
  window.scrollTo(0, 0);
}
function reset() { localStorage.removeItem(store); next(); }
"""


def render_quiz(images: list[np.ndarray], labels: list[str], display: int, quiz_id: str) -> str:
    cards = []
    for i, img in enumerate(images):
        data = base64.b64encode(encode_png(img)).decode("ascii")
        cards.append(
            f'<div class=card id=c{i}><div class=num>{i + 1}</div>'
            f'<img src="data:image/png;base64,{data}" width={display} height={display} alt="image {i + 1}">'
            f'<div><button class=say data-say=real onclick="pick({i},\'real\')">real</button>'
            f'<button class=say data-say=generated onclick="pick({i},\'generated\')">generated</button></div>'
            f'<div class=tag id=t{i}></div></div>')
    # the key travels base64-encoded so a glance at the source does not give it away
    key = base64.b64encode(json.dumps(labels).encode()).decode("ascii")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Real or generated?</title>
<style>
body{{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}}
.grid{{display:flex;flex-wrap:wrap;gap:14px}}.card{{border:1px solid #ddd;padding:8px;text-align:center;border-radius:6px}}
.card img{{image-rendering:pixelated;display:block;margin:4px auto}}.num{{color:#888;font-size:.8em}}
button.say{{margin:2px;padding:.3em .9em;border:1px solid #999;background:#fafafa;border-radius:4px;cursor:pointer}}
button.say.on{{background:#2d6cdf;color:#fff;border-color:#2d6cdf}}.tag{{font-size:.85em;min-height:1.2em}}
.tag.real{{color:#1a7f37}}.tag.generated{{color:#b3261e}}#bar{{position:sticky;top:0;background:#fff;padding:.6em 0;border-bottom:1px solid #eee}}
table{{border-collapse:collapse}}td,th{{padding:.3em .8em;border-bottom:1px solid #eee;text-align:left}}
#after{{display:none}}textarea{{width:100%;height:8em;font-family:monospace}}
</style></head><body>
<h1>Real or generated?</h1>
<p>{len(images)} images: some are photos from the training data, some were made by a generator. Click
<b>real</b> or <b>generated</b> for each, then <b>Show results</b>.</p>
<div id=bar><button id=done onclick="finish()" disabled>Show results</button> <span id=left>{len(images)} left</span></div>
<div class=grid>{"".join(cards)}</div>
<div id=result></div>
<div id=after><p><button onclick="next()">Next participant</button> <button onclick="reset()">Forget all answers</button></p>
<p>Results as JSON (copy to keep):</p><textarea id=json readonly></textarea></div>
<script>
const LABELS = JSON.parse(atob("{key}"));
const QUIZ_ID = "{html.escape(quiz_id)}";
{QUIZ_JS}
</script>
<p><small>gantool {__version__} quiz {html.escape(quiz_id)}</small></p>
</body></html>
"""
