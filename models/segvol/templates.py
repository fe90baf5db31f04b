"""Makes the SegVol graph templates: export.py's graphs with the weights left out.

    python3 models/segvol/templates.py --out assets/segvol [--encoder-depth 12]

The Go installer (infer/segvol/install) turns a checkpoint into the models
folder without Python: it copies these graph files unchanged and writes the
checkpoint's tensors into the weights files they point to as ONNX external
data (weights.bin; text_weights.bin for the text tower, whose graph is
installed only from a checkpoint that has it). The graphs are export.py's own
(same modules, inputs, dynamic axes and opset), exported without constant
folding so that every weight stays an initializer holding one checkpoint
tensor unchanged (folding would store transposed or fused copies under new
names). templates.json maps each graph's
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
import clip_text
import export as ex
import segvol_net as sv

WEIGHTS = "weights.bin"  # beside the graphs in the models folder
# The text tower's weights (about 250 MB) go in a file of their own: a
# checkpoint without the tower (the GitHub .pth) then gets no text graph and
# no 250 MB of zeros or holes, and the three graphs, weights.bin and its
# offsets are the same whether or not the tower is installed.
TEXT_WEIGHTS = "text_weights.bin"
ALIGN = 4096  # offsets on page boundaries, so that ONNX Runtime can map the file
# Prefixes of checkpoint keys no graph reads but that a checkpoint may hold:
# position_ids, which only transformers < 4.31 saved (the graph makes it).
IGNORED = list(ck.OPTIONAL)
# The graphs: the checkpoint prefix that the exported module's parameter
# names lack (the image encoder is exported as net.image_encoder itself, the
# text tower as export.py's TextEncoder) and their weights file.
GRAPHS = {
    "image_encoder.onnx": ("image_encoder.", WEIGHTS),
    "prompt_encoder.onnx": ("", WEIGHTS),
    "mask_decoder.onnx": ("", WEIGHTS),
    "text_encoder.onnx": ("text_encoder.", TEXT_WEIGHTS),
}
# The text graph is installed only from a checkpoint with keys under this
# prefix (the CLIP tower), as export.py exports it; its other keys
# (dim_align) are in every SegVol checkpoint.
OPTIONAL = {"text_encoder.onnx": ck.CLIP}


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


def random_text_encoder(seed):
    """clip_text.TextEncoder with distinct random values, as random_net."""
    enc = clip_text.TextEncoder().eval()
    gen = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for t in enc.state_dict().values():
            t.copy_(torch.randn(t.shape, generator=gen))
    return enc


def export_unfolded(net, text, out):
    """export.py's export_graphs and export_text_encoder with constant
    folding off (the only setting changed): their torch.onnx.export calls go
    through this wrapper."""
    real = torch.onnx.export

    @functools.wraps(real)
    def unfolded(*args, **kw):
        kw["do_constant_folding"] = False
        return real(*args, **kw)

    torch.onnx.export = unfolded
    try:
        return {**ex.export_graphs(net, out), **ex.export_text_encoder(text, out)}
    finally:
        torch.onnx.export = real


def content(a):
    return hashlib.sha256(a.dtype.str.encode() + str(a.shape).encode() + a.tobytes()).hexdigest()


def strip(graphs, out, state, constants):
    """Rewrites each graph in out with its weights as external data in its
    weights file; returns the template index and each file's size."""
    by_content = {content(v.numpy()): k for k, v in state.items()}
    weights, end, index = {}, {}, {}
    for name, (prefix, file) in GRAPHS.items():
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
                at = (end.get(file, 0) + ALIGN - 1) // ALIGN * ALIGN
                weights[key] = {"key": key, "dtype": str(a.dtype), "shape": list(a.shape), "offset": at, "length": a.nbytes}
                end[file] = at + a.nbytes
            w = weights[key]
            external_data_helper.set_external_data(init, file, w["offset"], w["length"])
            init.ClearField("raw_data")
            init.data_location = onnx.TensorProto.EXTERNAL
            inits.append({"name": init.name, **w})
        with open(path, "wb") as f:
            f.write(model.SerializeToString())
        index[name] = {"initializers": inits, **graphs[name]}
        if file != WEIGHTS:
            index[name]["weights"] = {"file": file}
        if name in OPTIONAL:
            index[name]["optional"] = OPTIONAL[name]
    for g in index.values():
        if "weights" in g:
            g["weights"]["bytes"] = end[g["weights"]["file"]]
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
    text = random_text_encoder(a.seed)
    state = {k: v for k, v in net.state_dict().items()}
    state.update({"text_encoder." + k: v for k, v in text.state_dict().items()})
    persistent = set(state)
    constants = {n for n, _ in net.named_buffers()} - persistent
    # Buffer names as the wrapped modules of the prompt and decoder graphs see them.
    constants |= {n.split(".", 1)[1] for n in constants}
    with tempfile.TemporaryDirectory() as tmp:
        graphs = export_unfolded(net, text, tmp)
        index, size = strip(graphs, tmp, state, constants)
        for name in GRAPHS:
            os.replace(os.path.join(tmp, name), os.path.join(a.out, name))
    used = {i["key"] for g in index.values() for i in g["initializers"]}
    want = ck.expected_shapes(a.encoder_depth, with_clip=True)
    unused = {k: list(s) for k, s in sorted(want.items()) if k not in used and not any(k.startswith(p) for p in IGNORED)}
    manifest = {
        "format": "segvol-templates/1",
        "encoder_depth": a.encoder_depth,
        "window": list(sv.WINDOW),
        "patch": list(sv.PATCH),
        "opset": ex.OPSET,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__},
        "weights": {"file": WEIGHTS, "bytes": size[WEIGHTS]},
        "graphs": index,
        "unused_keys": unused,
        "ignored_prefixes": IGNORED,
    }
    with open(os.path.join(a.out, "templates.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    for name in sorted(GRAPHS) + ["templates.json"]:
        print(f"{name}: {os.path.getsize(os.path.join(a.out, name))} bytes")
    for file, n in size.items():
        print(f"{file}: {n} bytes")
    print(f"{len(used)} checkpoint tensors in the weights files; {len(unused)} checkpoint keys no graph reads")


if __name__ == "__main__":
    main(sys.argv[1:])
