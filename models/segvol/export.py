"""Exports a SegVol checkpoint to the ONNX graphs the viewer runs.

    python3 models/segvol/export.py --checkpoint PATH --out DIR

PATH is the Hugging Face `pytorch_model.bin` (BAAI/SegVol) or the GitHub
`SegVol_v1.pth`. DIR receives image_encoder.onnx, prompt_encoder.onnx,
mask_decoder.onnx, manifest.json and, when the checkpoint holds the CLIP
text tower, text_encoder.onnx and the text embeddings of
models/categories.txt (clip_text.py: no `transformers` needed; where it is
installed, the tower is checked against its CLIPTextModel). The graphs are then checked against PyTorch on random
inputs with ONNX Runtime (the `onnxruntime` Python package where installed;
otherwise --fixtures writes the inputs and PyTorch's outputs for the Go check,
see models/segvol/README.md). The contract is shared/docs/segvol.md.
"""

import argparse
import gzip
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
import clip_text
import segvol_net as sv

OPSET = 17
TEMPLATE = clip_text.TEMPLATE
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CATEGORIES = os.path.join(HERE, "..", "categories.txt")

# Tolerances of the contract (shared/docs/segvol.md).
TOL_EMBEDDING = 1e-4
TOL_TOKENS = 1e-4
TOL_LOGITS = 1e-3
TOL_TEXT = 1e-4
# Phrases whose ids and PyTorch vectors --fixtures writes for the Go check
# (with any --reference-text): a category, free text, a long sentence.
REFERENCE_PHRASES = ["liver", "liver tumour", "right adrenal gland",
                     "hypodense lesion in segment 4 of the liver, about 2 cm, next to the middle hepatic vein"]


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


def export_text_encoder(encoder, out):
    """Writes text_encoder.onnx (input_ids [1,L] int64, L dynamic)."""
    path = os.path.join(out, "text_encoder.onnx")
    ids = torch.tensor([[clip_text.BOS, 320, 12639, 269, clip_text.EOS]])
    export(encoder, (ids,), path, ["input_ids"], ["text_embedding"], {"input_ids": {1: "L"}})
    return {"text_encoder.onnx": io_shapes(path)}


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


def transformers_check(state, encoder, tokenizer, tokenizer_path, names):
    """Where `transformers` is installed: max |clip_text - CLIPTextModel| over
    the category prompts and random ids, and the category prompts whose ids
    differ from Hugging Face tokenizers'. None where it is not."""
    try:
        from transformers import CLIPTextConfig, CLIPTextModel
        from tokenizers import Tokenizer as HFTokenizer
    except ImportError:
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
    model.eval()
    opener = gzip.open if tokenizer_path.endswith(".gz") else open
    with opener(tokenizer_path, "rt", encoding="utf-8") as f:
        hf = HFTokenizer.from_str(f.read())
    prompts = [TEMPLATE.format(n) for n in names]
    bad_ids = [p for p in prompts if hf.encode(p).ids != tokenizer.encode(p)]
    gen = torch.Generator().manual_seed(7)
    cases = [torch.tensor([tokenizer.encode(p)]) for p in prompts[:20]] + [random_ids(n, gen) for n in (2, 9, 77)]
    diff = 0.0
    with torch.no_grad():
        for ids in cases:
            theirs = encoder.dim_align(model(input_ids=ids).pooler_output)
            diff = max(diff, float((theirs - encoder(ids)).abs().max()))
    import transformers
    print(f"text encoder vs transformers {transformers.__version__} CLIPTextModel: max |diff| = {diff:.3g} "
          f"on {len(cases)} inputs; tokenizer ids differ from Hugging Face tokenizers' on {len(bad_ids)} of {len(prompts)} prompts")
    return {"transformers": transformers.__version__, "max_abs_diff": diff, "prompts_with_other_ids": bad_ids}


def random_ids(n, gen):
    """[1,n] ids as CLIP gives them: start token, n-2 ordinary tokens, end token."""
    body = torch.randint(0, clip_text.BOS, (n - 2,), generator=gen)
    return torch.cat([torch.tensor([clip_text.BOS]), body, torch.tensor([clip_text.EOS])]).unsqueeze(0)


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


def text_reference(encoder, tokenizer, phrases, seed):
    """The reference phrases' prompts, ids and PyTorch vectors, and random id
    sequences (lengths 2 to 77) with theirs."""
    gen = torch.Generator().manual_seed(seed + 2)
    cases = []
    with torch.no_grad():
        for phrase in phrases:
            prompt, ids = tokenizer.encode_prompt(phrase)
            if len(ids) > clip_text.POSITIONS:
                raise SystemExit(f"export: --reference-text {phrase!r} is {len(ids)} tokens, CLIP reads at most {clip_text.POSITIONS}")
            cases.append({"phrase": phrase, "prompt": prompt, "ids": ids,
                          "embedding": encoder(torch.tensor([ids]))[0].tolist()})
        for n in (2, 5, 31, clip_text.POSITIONS):
            ids = random_ids(n, gen)
            cases.append({"ids": ids[0].tolist(), "embedding": encoder(ids)[0].tolist()})
    return cases


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


def check_with_ort(out, ref, text_cases):
    """Max abs differences ONNX Runtime vs PyTorch; None without onnxruntime."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    opts = ort.SessionOptions()
    diffs = {}
    if text_cases:
        text = ort.InferenceSession(os.path.join(out, "text_encoder.onnx"), opts, providers=["CPUExecutionProvider"])
        for i, case in enumerate(text_cases):
            got = text.run(None, {"input_ids": np.array([case["ids"]], dtype=np.int64)})[0]
            diffs[f"text_embedding[{i}]"] = maxdiff(got[0], torch.tensor(case["embedding"]))
    sess = {n: ort.InferenceSession(os.path.join(out, n + ".onnx"), opts, providers=["CPUExecutionProvider"])
            for n in ("image_encoder", "prompt_encoder", "mask_decoder")}
    emb = sess["image_encoder"].run(None, {"image": ref["image"].numpy()})[0]
    diffs["image_embedding"] = maxdiff(emb, ref["image_embedding"])
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
    if name.startswith("text_embedding"):
        return TOL_TEXT
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


def write_fixtures(path, ref, text_cases):
    """Inputs and PyTorch outputs as raw little-endian float32 files plus an
    index.json, for the Go check that runs the graphs through infer/ort;
    text.json holds the text encoder's cases (phrase, prompt, ids, embedding)."""
    os.makedirs(path, exist_ok=True)
    index = {"tolerances": {"image_embedding": TOL_EMBEDDING, "point_tokens": TOL_TOKENS, "logits": TOL_LOGITS,
                            "text_embedding": TOL_TEXT},
             "tensors": {}, "cases": []}
    if text_cases:
        with open(os.path.join(path, "text.json"), "w", encoding="utf-8") as f:
            json.dump(text_cases, f, ensure_ascii=False)

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
    p.add_argument("--reference-text", action="append", default=[], metavar="PHRASE",
                   help="also write this phrase's ids and PyTorch text vector to the fixtures (repeatable)")
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
    names = read_categories(a.categories)
    vectors, text_cases, hf_check = None, [], None
    if with_clip:
        encoder = clip_text.load_text_encoder(state)
        graphs.update(export_text_encoder(encoder, a.out))
        tokenizer_path = clip_text.find_tokenizer(a.tokenizer or os.path.dirname(os.path.abspath(a.checkpoint)))
        tokenizer = clip_text.Tokenizer(tokenizer_path)
        print(f"CLIP tokenizer: {tokenizer_path}")
        vectors = clip_text.embed(encoder, tokenizer, names).numpy().astype("<f4")
        write_text_embeddings(a.out, names, vectors, a.checkpoint)
        text_cases = text_reference(encoder, tokenizer, REFERENCE_PHRASES + a.reference_text, a.seed)
        hf_check = transformers_check(state, encoder, tokenizer, tokenizer_path, names)
        if hf_check is None:
            print("text encoder: transformers is not installed here, so it is not compared with CLIPTextModel")
    else:
        print("text encoder and embeddings: skipped (the checkpoint has no CLIP text tower)")
    print(f"exported {len(graphs)} graphs to {a.out} in {time.time() - t0:.1f} s"
          + (f", text embeddings of {len(names)} categories" if vectors is not None else ""))

    ref = reference(net, a.seed)
    if a.fixtures:
        write_fixtures(a.fixtures, ref, text_cases)
        print(f"self-check fixtures written to {a.fixtures}")
    diffs = check_with_ort(a.out, ref, text_cases)
    if diffs is None:
        selfcheck = {"run": False, "why": "onnxruntime (Python) not installed"}
        print("self-check: onnxruntime (Python) is not installed here; run the Go check on --fixtures (README)")
    else:
        print("self-check, ONNX Runtime against PyTorch on random inputs:")
        ok = report(diffs)
        selfcheck = {"run": True, "passed": ok, "max_abs_diff": diffs}
    if hf_check is not None:
        selfcheck["transformers"] = hf_check
    write_manifest(a.out, a, layout, a.encoder_depth, graphs, names if vectors is not None else None, selfcheck)
    print(f"manifest: {os.path.join(a.out, 'manifest.json')}  (total {time.time() - t0:.1f} s)")
    if diffs is not None and not selfcheck["passed"]:
        raise SystemExit("export: self-check FAILED")
    if hf_check is not None and (hf_check["max_abs_diff"] >= TOL_TEXT or hf_check["prompts_with_other_ids"]):
        raise SystemExit("export: the text encoder or tokenizer differs from transformers'")


if __name__ == "__main__":
    main(sys.argv[1:])
