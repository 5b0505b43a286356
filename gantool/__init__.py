"""gantool: GAN dataset prep, training, sampling and evaluation from the shell.

Importing this package must stay cheap: no TensorFlow, Keras, mtcnn or cv2 here.
"""

__version__ = "0.1.0"
