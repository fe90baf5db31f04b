"""Exports a SegVol checkpoint to the three ONNX graphs the viewer runs.

    python3 models/segvol/export.py --checkpoint PATH --out DIR

PATH is the Hugging Face `pytorch_model.bin` (BAAI/SegVol) or the GitHub
`SegVol_v1.pth`. DIR receives image_encoder.onnx, prompt_encoder.onnx,
mask_decoder.onnx, manifest.json and, when the checkpoint holds the CLIP
text tower and `transformers` is installed, the text embeddings of
models/categories.txt. The graphs are then checked against PyTorch on random
inputs with ONNX Runtime (the `onnxruntime` Python package where installed;
otherwise --fixtures writes the inputs and PyTorch's outputs for the Go check,
see models/segvol/README.md). The contract is shared/docs/segvol.md.
"""

import argparse
import hashlib
import inspect
import json
import os
import platform
import sys
import time

import numpy as np
import onnx
import torch

import checkpoint as ck
import segvol_net as sv

OPSET = 17
TEMPLATE = "A computerized tomography of a {}."
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CATEGORIES = os.path.join(HERE, "..", "categories.txt")

# Tolerances of the contract (shared/docs/segvol.md).
TOL_EMBEDDING = 1e-4
TOL_TOKENS = 1e-4
TOL_LOGITS = 1e-3


# ---------------------------------------------------------------- graphs


def export_graphs(net, out):
    """Writes the three graphs; returns {file: (inputs, outputs)} with shapes."""
    graphs = {}
    image = torch.rand(1, 1, *sv.WINDOW)
    export(net.image_encoder, (image,), os.path.join(out, "image_encoder.onnx"), ["image"], ["image_embedding"], {})
    graphs["image_encoder.onnx"] = io_shapes(os.path.join(out, "image_encoder.onnx"))

    coords, labels = random_points(3, torch.Generator().manual_seed(1))
    export(sv.PromptGraph(net), (coords, labels), os.path.join(out, "prompt_encoder.onnx"),
           ["point_coords", "point_labels"], ["point_tokens"],
           {"point_coords": {1: "N"}, "point_labels": {1: "N"}, "point_tokens": {1: "N"}})
    graphs["prompt_encoder.onnx"] = io_shapes(os.path.join(out, "prompt_encoder.onnx"))

    embedding = torch.randn(1, sv.WIDTH, *sv.GRID)
    tokens = torch.randn(1, 4, sv.WIDTH)
    text, has_text = torch.randn(1, sv.WIDTH), torch.ones(1)
    net.set_two_stage_norm(True)
    try:
        export(sv.DecoderGraph(net), (embedding, tokens, text, has_text), os.path.join(out, "mask_decoder.onnx"),
               ["image_embedding", "sparse_tokens", "text_embedding", "has_text"], ["logits", "low_res_logits"],
               {"sparse_tokens": {1: "T"}})
    finally:
        net.set_two_stage_norm(False)
    graphs["mask_decoder.onnx"] = io_shapes(os.path.join(out, "mask_decoder.onnx"))
    return graphs


def export(module, args, path, inputs, outputs, dynamic):
    # The TorchScript exporter: dynamic_axes means what the contract says
    # there, while torch.export (the default from PyTorch 2.9) refuses axes
    # that tracing proves static.
    legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
    with torch.no_grad():
        torch.onnx.export(module, args, path, opset_version=OPSET, input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, do_constant_folding=True, **legacy)
    onnx.checker.check_model(path)
    # ONNX Runtime 1.29's CUDA plugin provider crashes on these (infer/ort
    # refuses such a graph on it): segvol_net.py is written to avoid them.
    for node in onnx.load(path, load_external_data=False).graph.node:
        if node.op_type in ("Tile", "Slice") or (node.op_type == "Resize" and len(node.input) > 3 and node.input[3]):
            raise SystemExit(f"{path}: node {node.name} ({node.op_type}) would crash the CUDA plugin provider")


def io_shapes(path):
    """Inputs and outputs of a graph as {name: shape} (dynamic axes by name)."""
    graph = onnx.load(path, load_external_data=False).graph

    def shape(v):
        return [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]

    return {"inputs": {v.name: shape(v) for v in graph.input},
            "outputs": {v.name: shape(v) for v in graph.output}}


# ---------------------------------------------------------------- text embeddings


def read_categories(path):
    with open(path, encoding="utf-8") as f:
        names = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    if len(set(names)) != len(names):
        raise SystemExit(f"{path}: a category name appears twice")
    return names


def text_embeddings(state, names, tokenizer_dir):
    """Runs each name through CLIP's text tower and dim_align, or returns None
    (with the reason printed) where that cannot be done here."""
    try:
        from transformers import AutoTokenizer, CLIPTextConfig, CLIPTextModel
    except ImportError:
        print("text embeddings: skipped (the Python package 'transformers' is not installed)")
        return None
    model = CLIPTextModel(CLIPTextConfig())
    tower = {k[len(ck.CLIP):]: v.float() for k, v in state.items() if k.startswith(ck.CLIP)}
    # The checkpoint names the tower's weights as transformers 4 did
    # ("text_model.embeddings..."); transformers 5 drops that prefix
    # ("embeddings..."), so follow whichever names this version's model has.
    if not any(k.startswith("text_model.") for k in model.state_dict()):
        tower = {k[len("text_model."):] if k.startswith("text_model.") else k: v for k, v in tower.items()}
    missing, unexpected = model.load_state_dict(tower, strict=False)
    # position_ids is the one buffer whose saving depends on the transformers version.
    missing = [k for k in missing if not k.endswith("position_ids")]
    unexpected = [k for k in unexpected if not k.endswith("position_ids")]
    if missing or unexpected:
        raise SystemExit(f"CLIP text tower does not match transformers' CLIPTextModel: missing {missing}, unexpected {unexpected}")
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    align = torch.nn.Linear(512, 768)
    align.load_state_dict({"weight": state["text_encoder.dim_align.weight"].float(),
                           "bias": state["text_encoder.dim_align.bias"].float()})
    model.eval()
    rows = []
    with torch.no_grad():
        for name in names:
            # One name at a time: the pooled output sits at the EOS token, which
            # the causal mask keeps independent of any padding after it.
            tokens = tokenizer([TEMPLATE.format(name)], return_tensors="pt")
            rows.append(align(model(**tokens).pooler_output)[0])
    return torch.stack(rows).numpy().astype("<f4")


def write_text_embeddings(out, names, vectors, checkpoint):
    """The format infer/segvol reads (text.go): text_embeddings.json names the
    rows, text_embeddings.bin holds len(names) x 768 little-endian float32."""
    vectors.tofile(os.path.join(out, "text_embeddings.bin"))
    meta = {"dim": int(vectors.shape[1]), "categories": names, "template": TEMPLATE,
            "checkpoint": os.path.basename(checkpoint)}
    with open(os.path.join(out, "text_embeddings.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)


# ---------------------------------------------------------------- self-check


def random_points(n, gen):
    """n points anywhere in the window with random labels 0/1, then one pad."""
    scale = torch.tensor([sv.WINDOW[0], sv.WINDOW[1], sv.WINDOW[2]], dtype=torch.float32)
    coords = torch.floor(torch.rand(1, n, 3, generator=gen) * scale)
    labels = torch.randint(0, 2, (1, n), generator=gen).float()
    coords = torch.cat([coords, torch.zeros(1, 1, 3)], dim=1)
    labels = torch.cat([labels, -torch.ones(1, 1)], dim=1)
    return coords, labels


def check_cases(gen):
    """Prompt cases of the contract: (name, coords, labels, with text)."""
    pts, pl = random_points(3, gen)
    box = torch.tensor([[[4.0, 40.0, 60.0], [20.0, 150.0, 200.0]]])
    box_labels = torch.tensor([[2.0, 3.0]])
    both = torch.cat([pts[:, :3], box], dim=1), torch.cat([pl[:, :3], box_labels], dim=1)
    return [
        ("points", pts, pl, False),
        ("box", box, box_labels, False),
        ("points+box", both[0], both[1], False),
        ("points+text", pts, pl, True),
        ("text", torch.zeros(1, 0, 3), torch.zeros(1, 0), True),
    ]


def reference(net, seed):
    """Random inputs and PyTorch's outputs (one-pass LayerNorm, as upstream)."""
    gen = torch.Generator().manual_seed(seed)
    image = torch.rand(1, 1, *sv.WINDOW, generator=gen)
    text = torch.randn(1, sv.WIDTH, generator=gen)
    ref = {"image": image, "text_embedding": text, "cases": []}
    with torch.no_grad():
        ref["image_embedding"] = net.image_encoder(image)
        decoder = sv.DecoderGraph(net)
        for name, coords, labels, with_text in check_cases(gen):
            tokens = net.prompt_encoder(coords, labels) if coords.shape[1] else torch.zeros(1, 0, sv.WIDTH)
            sparse = torch.cat([tokens, text.unsqueeze(1)], dim=1) if with_text else tokens
            has = torch.ones(1) if with_text else torch.zeros(1)
            logits, low = decoder(ref["image_embedding"], sparse, text, has)
            ref["cases"].append({"name": name, "point_coords": coords, "point_labels": labels, "point_tokens": tokens,
                                 "sparse_tokens": sparse, "has_text": has, "logits": logits, "low_res_logits": low})
    return ref


def check_with_ort(out, ref):
    """Max abs differences ONNX Runtime vs PyTorch; None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    sess = {n: ort.InferenceSession(os.path.join(out, n + ".onnx"), opts, providers=["CPUExecutionProvider"])
            for n in ("image_encoder", "prompt_encoder", "mask_decoder")}
    emb = sess["image_encoder"].run(None, {"image": ref["image"].numpy()})[0]
    diffs = {"image_embedding": maxdiff(emb, ref["image_embedding"])}
    for case in ref["cases"]:
        if case["point_coords"].shape[1]:
            tok = sess["prompt_encoder"].run(None, {"point_coords": case["point_coords"].numpy(),
                                                    "point_labels": case["point_labels"].numpy()})[0]
            diffs[f"point_tokens[{case['name']}]"] = maxdiff(tok, case["point_tokens"])
        # The decoder gets PyTorch's embedding and tokens, so that each graph is
        # judged on its own.
        logits, low = sess["mask_decoder"].run(None, {
            "image_embedding": ref["image_embedding"].numpy(), "sparse_tokens": case["sparse_tokens"].numpy(),
            "text_embedding": ref["text_embedding"].numpy(), "has_text": case["has_text"].numpy()})
        diffs[f"logits[{case['name']}]"] = maxdiff(logits, case["logits"])
        diffs[f"low_res_logits[{case['name']}]"] = maxdiff(low, case["low_res_logits"])
    return diffs


def maxdiff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b.numpy().astype(np.float64))))


def tolerance(name):
    if name.startswith("image_embedding"):
        return TOL_EMBEDDING
    if name.startswith("point_tokens"):
        return TOL_TOKENS
    return TOL_LOGITS


def report(diffs):
    """Prints each difference against its tolerance; returns whether all pass."""
    ok = True
    for name, d in diffs.items():
        good = d < tolerance(name)
        ok &= good
        print(f"  {name:32s} max |ORT - PyTorch| = {d:.3g}  (< {tolerance(name):g}: {'ok' if good else 'FAIL'})")
    return ok


def write_fixtures(path, ref):
    """Inputs and PyTorch outputs as raw little-endian float32 files plus an
    index.json, for the Go check that runs the graphs through infer/ort."""
    os.makedirs(path, exist_ok=True)
    index = {"tolerances": {"image_embedding": TOL_EMBEDDING, "point_tokens": TOL_TOKENS, "logits": TOL_LOGITS},
             "tensors": {}, "cases": []}

    def put(name, t):
        a = t.detach().numpy().astype("<f4")
        a.tofile(os.path.join(path, name + ".f32"))
        index["tensors"][name] = list(a.shape)
        return name

    put("image", ref["image"])
    put("image_embedding", ref["image_embedding"])
    put("text_embedding", ref["text_embedding"])
    for i, c in enumerate(ref["cases"]):
        entry = {"name": c["name"]}
        for key in ("point_coords", "point_labels", "point_tokens", "sparse_tokens", "has_text", "logits", "low_res_logits"):
            entry[key] = put(f"case{i}_{key}", c[key])
        index["cases"].append(entry)
    with open(os.path.join(path, "index.json"), "w") as f:
        json.dump(index, f, indent=1)


# ---------------------------------------------------------------- manifest


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_manifest(out, args, layout, depth, graphs, text_names, selfcheck):
    files = {}
    for name in sorted(os.listdir(out)):
        if name.endswith(".onnx") or name.startswith("text_embeddings."):
            entry = {"bytes": os.path.getsize(os.path.join(out, name)), "sha256": sha256(os.path.join(out, name))}
            entry.update(graphs.get(name, {}))
            files[name] = entry
    manifest = {
        "format": "segvol-models/1",
        "model": "SegVol (BAAI-DCAI), ViT-B 3D",
        "window": list(sv.WINDOW),
        "patch": list(sv.PATCH),
        "encoder_depth": depth,
        "opset": OPSET,
        "checkpoint": {"file": os.path.basename(args.checkpoint), "layout": layout, "sha256": sha256(args.checkpoint)},
        "text_template": TEMPLATE,
        "text_categories": len(text_names) if text_names else 0,
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "python": platform.python_version()},
        "files": files,
        "selfcheck": selfcheck,
    }
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)


# ---------------------------------------------------------------- main


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", required=True, help="pytorch_model.bin (Hugging Face) or SegVol_v1.pth (GitHub)")
    p.add_argument("--out", help="folder for the graphs and the manifest")
    p.add_argument("--encoder-depth", type=int, default=sv.ENCODER_DEPTH,
                   help="ViT blocks the checkpoint must have (12; fewer only for reduced test checkpoints)")
    p.add_argument("--categories", default=DEFAULT_CATEGORIES, help="category names, one a line")
    p.add_argument("--tokenizer", help="CLIP tokenizer folder (default: the checkpoint's folder)")
    p.add_argument("--fixtures", help="also write the self-check's inputs and PyTorch outputs here")
    p.add_argument("--check-only", action="store_true", help="verify the checkpoint's keys and stop")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    torch.manual_seed(a.seed)

    t0 = time.time()
    try:
        state, layout = ck.read(a.checkpoint)
        with_clip = ck.verify(a.checkpoint, state, a.encoder_depth)
    except ck.CheckpointError as e:
        raise SystemExit(f"export: {e}")
    print(f"{a.checkpoint}: {layout} layout, {len(state)} keys, encoder depth {a.encoder_depth}, "
          f"CLIP text tower {'present' if with_clip else 'absent'}: all keys match")
    if a.check_only:
        return
    if not a.out:
        raise SystemExit("export: --out DIR is required")
    os.makedirs(a.out, exist_ok=True)
    net = ck.load_net(state, a.encoder_depth)

    graphs = export_graphs(net, a.out)
    t_export = time.time() - t0
    print(f"exported 3 graphs to {a.out} in {t_export:.1f} s")

    names = read_categories(a.categories)
    vectors = text_embeddings(state, names, a.tokenizer or os.path.dirname(os.path.abspath(a.checkpoint))) if with_clip else None
    if with_clip is False:
        print("text embeddings: skipped (the checkpoint has no CLIP text tower)")
    if vectors is not None:
        write_text_embeddings(a.out, names, vectors, a.checkpoint)
        print(f"text embeddings: {len(names)} categories")

    ref = reference(net, a.seed)
    if a.fixtures:
        write_fixtures(a.fixtures, ref)
        print(f"self-check fixtures written to {a.fixtures}")
    diffs = check_with_ort(a.out, ref)
    if diffs is None:
        selfcheck = {"run": False, "why": "onnxruntime (Python) not installed"}
        print("self-check: onnxruntime (Python) is not installed here; run the Go check on --fixtures (README)")
    else:
        print("self-check, ONNX Runtime against PyTorch on random inputs:")
        ok = report(diffs)
        selfcheck = {"run": True, "passed": ok, "max_abs_diff": diffs}
    write_manifest(a.out, a, layout, a.encoder_depth, graphs, names if vectors is not None else None, selfcheck)
    print(f"manifest: {os.path.join(a.out, 'manifest.json')}  (total {time.time() - t0:.1f} s)")
    if diffs is not None and not selfcheck["passed"]:
        raise SystemExit("export: self-check FAILED")


if __name__ == "__main__":
    main(sys.argv[1:])
