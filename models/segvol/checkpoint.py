"""Reading a SegVol checkpoint in either published layout, strictly.

Hugging Face BAAI/SegVol `pytorch_model.bin`: a flat state dict, keys
`model.<part>.<...>`. GitHub `SegVol_v1.pth`: `{'model': state dict}` saved
from DataParallel, keys `module.<part>.<...>`. Parts: image_encoder,
prompt_encoder, mask_decoder, text_encoder.
"""

import inspect

import torch

from segvol_net import SegVolNet

PREFIXES = {"model.": "huggingface", "module.": "github"}
CLIP = "text_encoder.clip_text_model."
DIM_ALIGN = {"text_encoder.dim_align.weight": (768, 512), "text_encoder.dim_align.bias": (768,)}
# transformers < 4.31 saved position_ids as a persistent buffer and later
# versions do not, so a checkpoint may or may not hold it.
OPTIONAL = {CLIP + "text_model.embeddings.position_ids": (1, 77)}


class CheckpointError(Exception):
    pass


def clip_text_shapes():
    """Key -> shape of the CLIP ViT-B/32 text tower (transformers' CLIPTextModel
    with its default config: 12 layers, width 512, MLP 2048, 77 positions)."""
    p = CLIP + "text_model."
    shapes = {
        p + "embeddings.token_embedding.weight": (49408, 512),
        p + "embeddings.position_embedding.weight": (77, 512),
        p + "final_layer_norm.weight": (512,),
        p + "final_layer_norm.bias": (512,),
    }
    for i in range(12):
        layer = f"{p}encoder.layers.{i}."
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            shapes[f"{layer}self_attn.{proj}.weight"] = (512, 512)
            shapes[f"{layer}self_attn.{proj}.bias"] = (512,)
        for norm in ("layer_norm1", "layer_norm2"):
            shapes[f"{layer}{norm}.weight"] = (512,)
            shapes[f"{layer}{norm}.bias"] = (512,)
        shapes[f"{layer}mlp.fc1.weight"] = (2048, 512)
        shapes[f"{layer}mlp.fc1.bias"] = (2048,)
        shapes[f"{layer}mlp.fc2.weight"] = (512, 2048)
        shapes[f"{layer}mlp.fc2.bias"] = (512,)
    return shapes


def expected_shapes(encoder_depth, with_clip):
    """Every key of a SegVol checkpoint (without prefix) and its shape."""
    shapes = {k: tuple(v.shape) for k, v in SegVolNet(encoder_depth).state_dict().items()}
    shapes.update(DIM_ALIGN)
    if with_clip:
        shapes.update(clip_text_shapes())
    return shapes


def read(path):
    """Returns (state dict without prefix, layout name)."""
    # weights_only (torch >= 1.13) loads tensors and containers only: a
    # checkpoint from the internet cannot run code through its pickle.
    kw = {"weights_only": True} if "weights_only" in inspect.signature(torch.load).parameters else {}
    try:
        obj = torch.load(path, map_location="cpu", **kw)
    except Exception as e:
        raise CheckpointError(f"{path}: not a PyTorch checkpoint ({e})") from e
    if isinstance(obj, dict) and isinstance(obj.get("model"), dict):
        obj = obj["model"]
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(f"{path}: holds no state dict")
    for prefix, layout in PREFIXES.items():
        if all(k.startswith(prefix) for k in obj):
            return {k[len(prefix):]: v for k, v in obj.items()}, layout
    sample = next(iter(obj))
    raise CheckpointError(f"{path}: keys start neither all with 'model.' nor all with 'module.' (e.g. {sample!r})")


def verify(path, state, encoder_depth):
    """Fails on any missing, unexpected or misshaped key; returns whether the
    CLIP text tower is present. The tower is all-or-nothing: a checkpoint
    with only dim_align still exports the three graphs."""
    with_clip = any(k.startswith(CLIP) for k in state)
    want = expected_shapes(encoder_depth, with_clip)
    optional = OPTIONAL if with_clip else {}
    missing = sorted(set(want) - set(state))
    unexpected = sorted(set(state) - set(want) - set(optional))
    misshaped = sorted(
        f"{k} {tuple(state[k].shape)} (want {shape})"
        for k, shape in {**want, **optional}.items()
        if k in state and tuple(state[k].shape) != shape
    )
    problems = []
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("misshaped", misshaped)):
        if keys:
            shown = ", ".join(keys[:8]) + (f", ... ({len(keys)} in all)" if len(keys) > 8 else "")
            problems.append(f"{what} keys: {shown}")
    if problems:
        hint = f" (encoder depth {encoder_depth}: see --encoder-depth)" if any("image_encoder.blocks" in p for p in problems) else ""
        raise CheckpointError(f"{path}: " + "; ".join(problems) + hint)
    return with_clip


def load_net(state, encoder_depth):
    """SegVolNet with the checkpoint's weights, in eval mode, float32."""
    net = SegVolNet(encoder_depth)
    own = {k: v.float() for k, v in state.items() if k.split(".")[0] in ("image_encoder", "prompt_encoder", "mask_decoder")}
    net.load_state_dict(own, strict=True)
    return net.eval()
