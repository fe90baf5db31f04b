#!/usr/bin/env bash
# Writes the checkpoints the package tests install with the packaged CLI
# (packaging/segvol_test.go): random full-size SegVol weights with the real
# keys, with the CLIP text tower, in both published layouts (a Hugging Face
# folder and the GitHub .pth), and a .pth whose pickle would run a command
# when torch.load read it. Python makes them; the installer that reads them
# is the packaged Go program, with no Python in reach.
#
#   scripts/test-checkpoints.sh DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: scripts/test-checkpoints.sh DIR}
py=/usr/bin/python3 # Debian's python3-torch
mkdir -p "$out/hf"
"$py" "$root/models/segvol/make_checkpoint.py" --out "$out/hf/pytorch_model.bin"
"$py" "$root/models/segvol/make_checkpoint.py" --out "$out/SegVol_v1.pth" --layout github --seed 1
"$py" - "$out/exploit.pth" <<'PY'
import os, pickle, sys, zipfile

class Exploit:
    """What torch.load would call: os.system, creating a marker file."""
    def __reduce__(self):
        return (os.system, ("touch exploit-ran",))

with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("archive/data.pkl", pickle.dumps({"model": Exploit()}, protocol=2))
    z.writestr("archive/byteorder", "little")
    z.writestr("archive/version", "3\n")
PY
ls -l "$out" "$out/hf"
