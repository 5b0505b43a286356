"""Real MTCNN on real photos (scikit-image's astronaut placed at known scales, rotations and
positions), through the installed `gantool` entry point (the shared prep, the workers, kills and
Ctrl-C) or `gantool.cli.main` in this process (the --align and --min-face runs)."""

import signal
import subprocess
import time

import numpy as np
import pytest

from conftest import GANTOOL, run_cli, run_in_process
from photos import ASTRONAUT_BOX, ASTRONAUT_LANDMARKS, build_many, transform, write_face_photo

from gantool.data.shards import open_dataset

pytestmark = pytest.mark.slow
NAMES = list(ASTRONAUT_LANDMARKS)


def _expected_landmarks(m):
    return dict(zip(NAMES, transform(m, [ASTRONAUT_LANDMARKS[n] for n in NAMES])))


def _scale(m):
    return float(np.hypot(m[0, 0], m[0, 1]))


def test_detector_finds_the_astronaut_where_the_fixtures_assume():
    from skimage import data

    from gantool.prep.faces import FaceDetector

    faces = FaceDetector(min_face=20).detect([data.astronaut()])[0]
    assert len(faces) == 1 and faces[0].confidence > 0.99
    for n in NAMES:
        assert np.hypot(*np.subtract(faces[0].landmarks[n], ASTRONAUT_LANDMARKS[n])) < 3
    assert np.allclose(faces[0].box, ASTRONAUT_BOX, atol=4)


def test_counts_skips_and_json(face_prep):
    res, out, exp = face_prep
    assert res.rc == 0, res
    obj = res.json
    packed = [k for k, v in exp.items() if "matrix" in v]
    reasons = {}
    for v in exp.values():
        if "reason" in v:
            reasons[v["reason"]] = reasons.get(v["reason"], 0) + 1
    assert obj["found"] == len(exp)  # readme.txt is not an image file
    assert obj["ignored"] == 1
    assert obj["count"] == len(packed)
    assert obj["skipped"] == dict(sorted(reasons.items()))
    ds = open_dataset(out)
    skipped = {s["source"]: s["reason"] for s in ds.manifest["skipped"]}
    assert skipped == {k: v["reason"] for k, v in exp.items() if "reason" in v}
    assert "same bytes as a_plain.jpg" in [s for s in ds.manifest["skipped"] if s["reason"] == "duplicate"][0]["detail"]


def test_every_crop_is_the_face_at_the_right_place(face_prep):
    res, out, exp = face_prep
    ds = open_dataset(out)
    x = ds.load_all()
    assert x.shape == (ds.count, 64, 64, 3) and x.dtype == np.uint8
    by_source = {im["source"]: im for im in ds.manifest["images"]}
    assert set(by_source) == {k for k, v in exp.items() if "matrix" in v}
    for src, rec in by_source.items():
        m = exp[src]["matrix"]  # for o_two.jpg: the larger face (--faces largest)
        want = _expected_landmarks(m)
        tol = max(5.0, 0.15 * ASTRONAUT_BOX[2] * _scale(m))
        for n in NAMES:
            got = rec["face"]["landmarks"][n]
            assert np.hypot(*np.subtract(got, want[n])) < tol, (src, n, got, want[n])
        assert rec["face"]["confidence"] >= 0.95
        lo = rec["landmarks_out"]
        for n in NAMES:
            assert 0 <= lo[n][0] < 64 and 0 <= lo[n][1] < 64, (src, n, lo[n])
        eye_x = (lo["left_eye"][0] + lo["right_eye"][0]) / 2
        assert abs(eye_x - 32) < 8, (src, eye_x)
        if src != "c_rotated.jpg":
            assert max(lo["left_eye"][1], lo["right_eye"][1]) < lo["nose"][1] < lo["mouth_left"][1], src
    # the crop pixels really hold that face: MTCNN finds it again inside the 64 px crops,
    # with its eyes where the manifest says they were mapped
    from gantool.prep.faces import FaceDetector

    again = FaceDetector(min_face=12, min_confidence=0.9).detect(list(x))
    for rec, faces in zip(ds.manifest["images"], again):
        assert faces, rec["source"]
        f = min(faces, key=lambda f: np.hypot(f.box[0] + f.box[2] / 2 - 32, f.box[1] + f.box[3] / 2 - 32))
        for n in ("left_eye", "right_eye"):
            assert np.hypot(*np.subtract(f.landmarks[n], rec["landmarks_out"][n])) < 5, (rec["source"], n)


def test_padding_and_rotation_recorded(face_prep):
    _, out, _ = face_prep
    recs = {im["source"]: im for im in open_dataset(out).manifest["images"]}
    edge = recs["d_edge.jpg"]["crop"]
    assert edge["center"][0] - edge["side"] / 2 < 0  # the crop leaves the photo: it was padded
    rot = recs["c_rotated.jpg"]["landmarks_out"]
    assert abs(rot["left_eye"][1] - rot["right_eye"][1]) > 5  # not aligned by default: eyes tilted
    assert all(im["crop"]["angle"] == 0.0 for im in recs.values())


def test_no_tensorflow_noise_reaches_the_terminal(face_prep):
    res, _, _ = face_prep
    for line in res.stderr.splitlines():
        assert line.startswith("prep:"), f"unexpected stderr line: {line!r}"


def test_align_levels_the_eyes_and_faces_all(tmp_path, photo_folder):
    root, exp = photo_folder
    src = tmp_path / "two"
    src.mkdir()
    for name in ("c_rotated.jpg", "o_two.jpg"):
        (src / name).write_bytes((root / name).read_bytes())
    r = run_in_process("prep", src, "--size", 64, "--out", tmp_path / "out", "--align", "--faces", "all",
                       "--min-face", 20, "--workers", 1, "--json", "-q")
    assert r.rc == 0, r
    assert r.json["count"] == 3  # one face + two faces
    ds = open_dataset(tmp_path / "out")
    recs = ds.manifest["images"]
    assert [im["source"] for im in recs] == ["c_rotated.jpg", "o_two.jpg", "o_two.jpg"]
    for im in recs:
        lo = im["landmarks_out"]
        assert abs(lo["left_eye"][1] - lo["right_eye"][1]) < 0.5
    # the astronaut's eye line is itself tilted ~3 deg; placed 25 deg counter-clockwise on top
    want = _expected_landmarks(exp["c_rotated.jpg"]["matrix"])
    want_angle = np.degrees(np.arctan2(*(want["right_eye"] - want["left_eye"])[::-1]))
    assert recs[0]["crop"]["angle"] == pytest.approx(want_angle, abs=3)
    # largest first: the 0.9-scale face, then the 0.5-scale one
    assert recs[1]["face"]["box"][2] > 1.5 * recs[2]["face"]["box"][2]
    for im, m in zip(recs[1:], exp["o_two.jpg"]["all"]):
        want = _expected_landmarks(m)
        assert np.hypot(*np.subtract(im["face"]["landmarks"]["nose"], want["nose"])) < 8


def test_min_face_filters_and_nothing_packed_exits_1(tmp_path):
    src = tmp_path / "one"
    src.mkdir()
    write_face_photo(src / "face.jpg", 0.5, 0, (400, 500), (250, 200))  # face ~42 px wide
    r = run_in_process("prep", src, "--size", 32, "--out", tmp_path / "out", "--min-face", 200, "--workers", 1, "-q")
    assert r.rc == 1, r
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "nothing was packed" in lines[0] and "no_face 1" in lines[0]
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["one"]  # no staging folder left behind


def test_batch_size_changes_detections_only_slightly(photo_folder):
    """mtcnn 1.0.0's batched pipeline moves boxes by a few pixels compared with one image at a
    time (detection copies are padded to one square size, so it is not the padding). Output is
    deterministic for a given --batch; across batch sizes the same faces are found, close by."""
    from gantool.prep import geometry as g
    from gantool.prep.faces import FaceDetector
    from gantool.prep.imageio import decode_file

    root, _ = photo_folder
    imgs = [decode_file(str(root / n)) for n in ("a_plain.jpg", "b_small.png", "c_rotated.jpg", "o_two.jpg")]
    det = FaceDetector(min_face=20)
    together = det.detect(imgs)
    alone = [det.detect([im])[0] for im in imgs]
    assert together == det.detect(imgs)  # same batch, same answer
    for t, a in zip(together, alone):
        assert len(t) == len(a) >= 1
        for ft, fa in zip(t, a):
            assert g.iou(ft.box, fa.box) > 0.75  # ~0.8 seen on the 42 px face
            size = max(fa.box[2], fa.box[3])
            for n in NAMES:
                assert np.hypot(*np.subtract(ft.landmarks[n], fa.landmarks[n])) < 0.06 * size


def test_workers_give_the_same_dataset(face_prep, tmp_path, photo_folder):
    res, out1, _ = face_prep
    root, _ = photo_folder
    r = run_cli("prep", root, "--size", 64, "--out", tmp_path / "w2", "--workers", 2, "--min-face", 20, "--json")
    assert r.rc == 0, r
    for line in r.stderr.splitlines():  # spawned workers stay quiet too
        assert line.startswith("prep:"), line
    a, b = open_dataset(out1), open_dataset(tmp_path / "w2")
    assert np.array_equal(a.load_all(), b.load_all())
    assert [i["source"] for i in a.manifest["images"]] == [i["source"] for i in b.manifest["images"]]
    assert a.manifest["skipped"] == b.manifest["skipped"]


def _default_sigint():
    # a shell's background job (and so this test run, under CI) may inherit SIGINT as ignored,
    # which Python honours; give the child the disposition a terminal user's process has
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(args, cwd):
    return subprocess.Popen([GANTOOL, *map(str, args)], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                            preexec_fn=_default_sigint)


def _wait_for_shard(parent, name, n, proc, timeout=120):
    """Wait until the staging folder of a running prep holds at least n shards."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, "prep finished before it could be interrupted"
        for d in parent.glob(f".{name}.partial-*"):
            if len(list(d.glob("shard-*.npz"))) >= n:
                return d
        time.sleep(0.05)
    raise AssertionError("no shard appeared in time")


@pytest.fixture(scope="module")
def many_photos(tmp_path_factory):
    root = tmp_path_factory.mktemp("many") / "raw"
    build_many(root, 40)
    return root


def test_sigkill_mid_run_leaves_no_dataset_and_a_rerun_completes(tmp_path, many_photos):
    args = ["prep", many_photos, "--size", 32, "--out", tmp_path / "ds", "--shard-size", 2, "--batch", 2, "--workers", 1, "-q"]
    proc = _start(args, tmp_path)
    staging = _wait_for_shard(tmp_path, "ds", 2, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert not (tmp_path / "ds").exists()  # never a half-written dataset at --out
    assert staging.exists()  # the killed run's scratch, invisible to readers
    r = run_cli(*args, "--json")
    assert r.rc == 0, r
    assert r.json["count"] == 40
    assert open_dataset(tmp_path / "ds").load_all().shape == (40, 32, 32, 3)
    assert not staging.exists()  # the stale scratch was cleaned up
    assert [p.name for p in tmp_path.iterdir()] == ["ds"]


def test_ctrl_c_cleans_up_and_exits_130(tmp_path, many_photos):
    args = ["prep", many_photos, "--size", 32, "--out", tmp_path / "ds", "--shard-size", 2, "--batch", 2, "--workers", 1, "-q"]
    proc = _start(args, tmp_path)
    _wait_for_shard(tmp_path, "ds", 1, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == ["gantool: error: interrupted"]
    assert list(tmp_path.iterdir()) == []
