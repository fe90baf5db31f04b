"""Writes small checkpoints with torch, in each layout infer/checkpoint reads,
and expected.json: every tensor's dtype, shape and bytes as torch has them.

    /usr/bin/python3 make_fixtures.py OUTDIR SEED

The tests run it at test time where torch imports (Debian: python3-torch) and
read its output; the copy in this folder was made once with seed 0 by
torch 1.13 (Debian's python3-torch 1.13.1) and is what the tests read on a
machine without torch. safetensors files are written here by hand (the
format is 8 bytes of header length, a JSON header, raw data), as the
safetensors module is not packaged in Debian.
"""

import collections
import json
import os
import struct
import sys

import torch

out, seed = sys.argv[1], int(sys.argv[2])
os.makedirs(out, exist_ok=True)
torch.manual_seed(seed)

ids = torch.arange(7, dtype=torch.int64) * (seed + 1)
sd = collections.OrderedDict()
sd["enc.weight"] = torch.randn(4, 3)
sd["enc.bias"] = torch.nn.Parameter(torch.randn(4))  # _rebuild_parameter
sd["enc.weight_t"] = torch.randn(3, 5).t()  # non-contiguous: strides (1, 5)
sd["half"] = torch.randn(2, 3).half()
sd["bf16"] = torch.randn(5).bfloat16()
sd["f64"] = torch.randn(2).double()
sd["ids"] = ids
sd["ids_view"] = ids[2:5]  # shares the storage, from element 2
sd["i32"] = torch.randint(-1000, 1000, (3, 2), dtype=torch.int32)
sd["u8"] = torch.randint(0, 255, (4,), dtype=torch.uint8)
sd["mask"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(2.5)
sd["empty"] = torch.zeros(0, 3)
sd["expand"] = torch.randn(3, 1).expand(3, 4)  # stride 0
sd["chan_last"] = torch.randn(1, 2, 3, 3).to(memory_format=torch.channels_last)
sd._metadata = {"": {"version": 1}}

ST = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
      torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8", torch.bool: "BOOL"}


def raw(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        t = t.view(torch.int16)
    return t.numpy().tobytes()


def prefixed(prefix, names):
    d = collections.OrderedDict((prefix + k, sd[k]) for k in names)
    d._metadata = sd._metadata  # as Module.state_dict() has it: pickled by BUILD
    return d


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = raw(t)
        header[name] = {"dtype": ST[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


names = list(sd)
first, second = names[: len(names) // 2], names[len(names) // 2:]

# The GitHub SegVol_v1.pth layout: the model under "model", saved from
# DataParallel (module. prefix), with an optimizer and an epoch beside it.
opt_state = {0: {"step": torch.tensor(3.0), "exp_avg": torch.randn(4)}}
torch.save({"model": prefixed("module.", names), "epoch": 3,
            "optimizer": {"state": opt_state, "param_groups": [{"lr": 1e-4, "betas": (0.9, 0.999), "params": [0]}]}},
           os.path.join(out, "github.pth"))

# The Hugging Face layouts (model. prefix), one file each and sharded.
os.makedirs(os.path.join(out, "hf_bin"), exist_ok=True)
os.makedirs(os.path.join(out, "hf_st"), exist_ok=True)
write_safetensors(os.path.join(out, "model.safetensors"), prefixed("model.", names))
for i, part in enumerate((first, second)):
    bin_name = "pytorch_model-%05d-of-00002.bin" % (i + 1)
    st_name = "model-%05d-of-00002.safetensors" % (i + 1)
    torch.save(prefixed("model.", part), os.path.join(out, "hf_bin", bin_name))
    write_safetensors(os.path.join(out, "hf_st", st_name), prefixed("model.", part))
for folder, shard in (("hf_bin", "pytorch_model-%05d-of-00002.bin"), ("hf_st", "model-%05d-of-00002.safetensors")):
    index = "pytorch_model.bin.index.json" if folder == "hf_bin" else "model.safetensors.index.json"
    wm = {"model." + k: shard % (1 if k in first else 2) for k in names}
    with open(os.path.join(out, folder, index), "w") as f:
        json.dump({"metadata": {"total_size": sum(len(raw(sd[k])) for k in names)}, "weight_map": wm}, f, indent=1)

with open(os.path.join(out, "expected.json"), "w") as f:
    json.dump({k: {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "hex": raw(t).hex()}
               for k, t in sd.items()}, f, indent=1)
