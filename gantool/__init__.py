"""gantool: GAN dataset prep, training, sampling and evaluation from the shell.

Importing this package must stay cheap: no TensorFlow, Keras, mtcnn or cv2 here.
"""

import os as _os

__version__ = "0.1.0"

# TensorFlow turns its oneDNN CPU kernels on by default only on some x86 CPUs; on the AMD EPYC
# machines we run on they were off, and turning them on made a DCGAN train step 2.5x faster
# (316 -> 781 img/s, system time 36 s -> 2 s) and MS-SSIM 13x faster (53 -> 710 pairs/s).
# Set before anything imports TensorFlow; an explicit TF_ENABLE_ONEDNN_OPTS=0 still wins.
_os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
