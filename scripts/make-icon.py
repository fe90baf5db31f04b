#!/usr/bin/env python3
"""Draws assets/icon.png: a mid axial slice of the sample CT (soft-tissue
window) with its liver and spleen labels tinted, 256x256, no imaging library
beyond numpy and nibabel."""
import struct, zlib, sys
import numpy as np, nibabel as nb

ct = np.asanyarray(nb.load("assets/sample/example_ct_sm.nii.gz").dataobj).astype(np.float32)
seg = np.asanyarray(nb.load("assets/sample/example_seg.nii.gz").dataobj)
k = ct.shape[2] // 2
img = np.clip((ct[:, :, k] - (40 - 200)) / 400.0, 0, 1)
lab = seg[:, :, k]
# RAS storage: rows = y; flip so that anterior is up and the patient's right is on the
# left of the picture, as radiologists view an axial slice.
img, lab = np.flipud(np.fliplr(img.T)), np.flipud(np.fliplr(lab.T))
rgb = np.stack([img] * 3, -1)
for value, colour in ((5, (0.95, 0.45, 0.2)), (1, (0.3, 0.6, 1.0))):
    m = lab == value
    rgb[m] = 0.45 * rgb[m] + 0.55 * np.array(colour)
size = 256
ys = (np.arange(size) * rgb.shape[0] / size).astype(int)
xs = (np.arange(size) * rgb.shape[1] / size).astype(int)
out = (rgb[ys][:, xs] * 255).astype(np.uint8)
raw = b"".join(b"\x00" + out[y].tobytes() for y in range(size))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(sys.argv[1] if len(sys.argv) > 1 else "assets/icon.png", "wb").write(png)
