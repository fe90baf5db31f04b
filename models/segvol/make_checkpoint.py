"""Writes a random-weight SegVol checkpoint with the real key names and shapes.

It stands in for the published weights in tests: the export, the self-check
and the Go pipeline run on it exactly as on the real file.

    python3 models/segvol/make_checkpoint.py --out ckpt.bin [--layout huggingface|github]
        [--encoder-depth 12] [--no-clip] [--seed 0]

--encoder-depth below 12 keeps fewer ViT blocks (same keys and shapes per
block) for fast CI runs; --no-clip leaves out the CLIP text tower (keeping
text_encoder.dim_align), as a checkpoint without it must still export.
"""

import argparse
import math
import sys

import torch

import checkpoint as ck


# Modules whose weights are embedding tables (rows of vectors), not layers.
EMBEDDINGS = {"iou_token", "mask_tokens", "no_mask_embed", "not_a_point_embed", "point_embeddings",
              "position_embeddings", "token_embedding", "position_embedding"}
NORMS = ("norm", "output_upscaling.1.", "mask_downscaling.1.", "mask_downscaling.4.")


def random_tensor(key, shape, gen):
    """Values on the scale a trained model has, so that activations neither
    vanish nor blow up and the float32 comparisons mean something."""
    name = key.rsplit(".", 1)[-1]
    if name == "position_ids":
        return torch.arange(shape[-1], dtype=torch.int64).reshape(shape)
    if name == "positional_encoding_gaussian_matrix":
        return torch.randn(shape, generator=gen)  # SAM draws it N(0,1)
    if EMBEDDINGS.intersection(key.split(".")):
        return 0.5 * torch.randn(shape, generator=gen)
    if any(n in key for n in NORMS):
        return (1 if name == "weight" else 0) + 0.1 * torch.randn(shape, generator=gen)
    if name == "bias":
        return 0.02 * torch.randn(shape, generator=gen)
    # A layer's weight: unit gain. A stride-2 kernel-2 transposed conv sums
    # over input channels only.
    fan_in = shape[0] if key.startswith("mask_decoder.output_upscaling.") else math.prod(shape[1:])
    return torch.randn(shape, generator=gen) / math.sqrt(fan_in)


def build(encoder_depth, with_clip, seed):
    gen = torch.Generator().manual_seed(seed)
    shapes = ck.expected_shapes(encoder_depth, with_clip)
    if with_clip:
        shapes.update(ck.OPTIONAL)
    return {k: random_tensor(k, shape, gen) for k, shape in sorted(shapes.items())}


def save(state, path, layout):
    if layout == "huggingface":
        torch.save({"model." + k: v for k, v in state.items()}, path)
    else:
        torch.save({"model": {"module." + k: v for k, v in state.items()}, "epoch": 0}, path)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True)
    p.add_argument("--layout", choices=("huggingface", "github"), default="huggingface")
    p.add_argument("--encoder-depth", type=int, default=12)
    p.add_argument("--no-clip", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    state = build(a.encoder_depth, not a.no_clip, a.seed)
    save(state, a.out, a.layout)
    n = sum(v.numel() for v in state.values() if v.is_floating_point())
    print(f"{a.out}: {a.layout} layout, {len(state)} keys, {n / 1e6:.1f} M parameters, encoder depth {a.encoder_depth}")


if __name__ == "__main__":
    main(sys.argv[1:])
