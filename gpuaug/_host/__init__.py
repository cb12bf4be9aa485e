"""Native CPU kernels for the host path (CPU tensors under backend "auto"): OpenCV over a thread pool.

``gpuaug/_host/<family>.py`` defines some primitives of ``gpuaug/_torch/<family>.py`` under the same
names and signatures (``gpuaug.backend.PRIMITIVES``); a primitive without a host kernel runs on the torch
path. Each module says what it maps exactly, what it leaves to the torch path and what it measured.
Importing any of them imports ``cv2``; without OpenCV the backend runs the torch path, with no error.
"""
