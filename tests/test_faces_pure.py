"""Face selection, mtcnn row parsing and the min_face_size work-around: pure, no TensorFlow."""

import numpy as np

from gantool.prep.faces import Face, mtcnn_min_face, parse_rows, select_faces


def test_parse_rows_layout_and_mapping_back():
    # mtcnn 1.0.0 numpy rows: [image, x1, y1, x2, y2, conf, 5 x's, 5 y's]
    row = [1, 10, 20, 50, 80, 0.99, 1, 2, 3, 4, 5, 11, 12, 13, 14, 15]
    faces = parse_rows(np.array([row]), 2, [1.0, 0.5])  # image 1 was shrunk by half
    assert faces[0] == []
    f = faces[1][0]
    assert f.box == (20.0, 40.0, 80.0, 120.0)
    assert f.confidence == 0.99
    assert f.landmarks["left_eye"] == (2.0, 22.0)
    assert f.landmarks["mouth_right"] == (10.0, 30.0)


def test_select_faces_filters_and_orders():
    lm = {}
    big_unsure = Face((0, 0, 100, 100), 0.90, lm)
    big = Face((0, 0, 90, 90), 0.99, lm)
    small = Face((0, 0, 30, 50), 0.999, lm)  # shorter side 30
    faces = [small, big_unsure, big]
    assert select_faces(faces, 0.95, 20, "largest") == [big]
    assert select_faces(faces, 0.95, 20, "all") == [big, small]
    assert select_faces(faces, 0.95, 40, "all") == [big]
    assert select_faces(faces, 0.5, 20, "all") == [big_unsure, big, small]
    assert select_faces(faces, 0.9999, 20, "all") == []


def test_mtcnn_min_face_stays_in_the_working_range():
    assert mtcnn_min_face(40, 0.625) == 20  # 25 px on the copy: capped (mtcnn finds nothing above ~20)
    assert mtcnn_min_face(20, 0.625) == 12  # 12.5 px: finer pyramid
    assert mtcnn_min_face(400, 1.0) == 20
    assert mtcnn_min_face(5, 0.5) == 12  # never below PNet's window
