"""Makes the SegVol graph templates: export.py's graphs with the weights left out.

    python3 models/segvol/templates.py --out assets/segvol [--encoder-depth 12]

The Go installer (infer/segvol/install) turns a checkpoint into the models
folder without Python: it copies these graph files unchanged and writes the
checkpoint's tensors into the one weights file they point to as ONNX external
data. The graphs are export.py's own (same modules, inputs, dynamic axes and
opset), exported without constant folding so that every weight stays an
initializer holding one checkpoint tensor unchanged (folding would store
transposed or fused copies under new names). templates.json maps each graph's
initializers to checkpoint keys with their dtype, shape and place in the
weights file. Run twice with the same torch, the output is byte-identical
(scripts/test-export.sh checks it against the committed files).
"""

import argparse
import functools
import hashlib
import json
import os
import sys
import tempfile

import onnx
import torch
from onnx import external_data_helper, numpy_helper

import checkpoint as ck
import export as ex
import segvol_net as sv

WEIGHTS = "weights.bin"  # beside the graphs in the models folder
ALIGN = 4096  # offsets on page boundaries, so that ONNX Runtime can map the file
# Prefixes of checkpoint keys the graphs here do not read but that a
# checkpoint holds: the text tower, for the text encoder graph still to come.
IGNORED = ["text_encoder."]
# The graphs, and the checkpoint prefix that the exported module's parameter
# names lack (the image encoder is exported as net.image_encoder itself).
GRAPHS = {"image_encoder.onnx": "image_encoder.", "prompt_encoder.onnx": "", "mask_decoder.onnx": ""}


def random_net(depth, seed):
    """A SegVolNet whose every checkpoint tensor holds distinct random values:
    the TorchScript exporter merges initializers of equal value in eval mode
    (default LayerNorm weights are all ones), and distinct values also let
    each initializer be traced back to its key by content."""
    net = sv.SegVolNet(depth).eval()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in net.state_dict().values():
            t.copy_(torch.randn(t.shape, generator=gen))
    return net


def export_unfolded(net, out):
    """export.py's export_graphs with constant folding off (the only setting
    changed): its torch.onnx.export calls go through this wrapper."""
    real = torch.onnx.export

    @functools.wraps(real)
    def unfolded(*args, **kw):
        kw["do_constant_folding"] = False
        return real(*args, **kw)

    torch.onnx.export = unfolded
    try:
        return ex.export_graphs(net, out)
    finally:
        torch.onnx.export = real


def content(a):
    return hashlib.sha256(a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()).hexdigest()


def strip(graphs, out, state, constants):
    """Rewrites each graph in out with its weights as external data in one
    shared weights file; returns the template index."""
    by_content = {content(v.numpy()): k for k, v in state.items()}
    weights, end, index = {}, 0, {}
    for name, prefix in GRAPHS.items():
        path = os.path.join(out, name)
        model = onnx.load(path)
        inits = []
        for init in model.graph.initializer:
            a = numpy_helper.to_array(init)
            key = by_content.get(content(a))
            if key is None:
                # Not a checkpoint tensor: only a non-persistent buffer (a
                # constant of the architecture, not of the weights) may stay.
                if init.name not in constants:
                    raise SystemExit(f"{name}: initializer {init.name} {list(a.shape)} is no checkpoint tensor")
                continue
            if key != prefix + init.name:
                raise SystemExit(f"{name}: initializer {init.name} holds checkpoint tensor {key}")
            if key not in weights:
                end = (end + ALIGN - 1) // ALIGN * ALIGN
                weights[key] = {"key": key, "dtype": str(a.dtype), "shape": list(a.shape), "offset": end, "length": a.nbytes}
                end += a.nbytes
            w = weights[key]
            external_data_helper.set_external_data(init, WEIGHTS, w["offset"], w["length"])
            init.ClearField("raw_data")
            init.data_location = onnx.TensorProto.EXTERNAL
            inits.append({"name": init.name, **w})
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        index[name] = {"initializers": inits, **graphs[name]}
    return index, end


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="folder for the graph files and templates.json")
    p.add_argument("--encoder-depth", type=int, default=sv.ENCODER_DEPTH,
                   help="ViT blocks (12; fewer only for reduced test checkpoints)")
    p.add_argument("--seed", type=int, default=0,
                   help="of the stand-in weights; any seed gives the same files, which proves that nothing kept in them depends on the weights")
    a = p.parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    net = random_net(a.encoder_depth, a.seed)
    state = {k: v for k, v in net.state_dict().items()}
    persistent = set(state)
    constants = {n for n, _ in net.named_buffers()} - persistent
    # Buffer names as the wrapped modules of the prompt and decoder graphs see them.
    constants |= {n.split(".", 1)[1] for n in constants}
    with tempfile.TemporaryDirectory() as tmp:
        graphs = export_unfolded(net, tmp)
        index, size = strip(graphs, tmp, state, constants)
        for name in GRAPHS:
            os.replace(os.path.join(tmp, name), os.path.join(a.out, name))
    used = {i["key"] for g in index.values() for i in g["initializers"]}
    want = ck.expected_shapes(a.encoder_depth, with_clip=False)
    unused = {k: list(s) for k, s in sorted(want.items()) if k not in used and not any(k.startswith(p) for p in IGNORED)}
    manifest = {
        "format": "segvol-templates/1",
        "encoder_depth": a.encoder_depth,
        "window": list(sv.WINDOW),
        "patch": list(sv.PATCH),
        "opset": ex.OPSET,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__},
        "weights": {"file": WEIGHTS, "bytes": size},
        "graphs": index,
        "unused_keys": unused,
        "ignored_prefixes": IGNORED,
    }
    with open(os.path.join(a.out, "templates.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    for name in sorted(GRAPHS) + ["templates.json"]:
        print(f"{name}: {os.path.getsize(os.path.join(a.out, name))} bytes")
    print(f"{WEIGHTS}: {size} bytes from {len(used)} checkpoint tensors; {len(unused)} checkpoint keys no graph reads")


if __name__ == "__main__":
    main(sys.argv[1:])
