"""SegVol's text encoder in plain PyTorch: CLIP ViT-B/32's text tower and
dim_align, and a CLIP tokenizer, so that text vectors need no `transformers`.

The tower is transformers' CLIPTextModel with CLIPTextConfig()'s defaults
(shared/docs/segvol.md): width 512, 12 pre-LayerNorm blocks, 8 heads, MLP
2048 with quick_gelu, 77 learned positions, a causal mask, a final
LayerNorm, pooled at the end-of-text token (the largest id, so argmax of the
ids), then dim_align (512 -> 768). Module names follow the checkpoint's keys
under `text_encoder.` (`clip_text_model.text_model.*`, `dim_align.*`), so its
state dict loads without a key map.
"""

import gzip
import json
import os
import re
import unicodedata

import torch
from torch import nn

VOCAB = 49408
WIDTH = 512
DEPTH = 12
HEADS = 8
MLP = 2048
POSITIONS = 77
OUT = 768
BOS, EOS = 49406, 49407
TEMPLATE = "A computerized tomography of a {}."
BUNDLED_TOKENIZER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "assets", "clip",
                                 "tokenizer.json.gz")


class Embeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.token_embedding = nn.Embedding(VOCAB, WIDTH)
        self.position_embedding = nn.Embedding(POSITIONS, WIDTH)

    def forward(self, input_ids):
        # Positions by arange and Gather, not by slicing the table: Slice
        # crashes ONNX Runtime 1.29's CUDA plugin provider.
        positions = torch.arange(input_ids.shape[1], device=input_ids.device)
        return self.token_embedding(input_ids) + self.position_embedding(positions).unsqueeze(0)


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.q_proj = nn.Linear(WIDTH, WIDTH)
        self.k_proj = nn.Linear(WIDTH, WIDTH)
        self.v_proj = nn.Linear(WIDTH, WIDTH)
        self.out_proj = nn.Linear(WIDTH, WIDTH)

    def forward(self, x, mask):
        b = x.shape[0]

        def split(t):
            return t.reshape(b, -1, HEADS, WIDTH // HEADS).transpose(1, 2)

        q = split(self.q_proj(x) * (WIDTH // HEADS) ** -0.5)
        k, v = split(self.k_proj(x)), split(self.v_proj(x))
        att = torch.softmax(q @ k.transpose(-2, -1) + mask, dim=-1)
        return self.out_proj((att @ v).transpose(1, 2).reshape(b, -1, WIDTH))


class FeedForward(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(WIDTH, MLP)
        self.fc2 = nn.Linear(MLP, WIDTH)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.self_attn = Attention()
        self.layer_norm1 = nn.LayerNorm(WIDTH)
        self.mlp = FeedForward()
        self.layer_norm2 = nn.LayerNorm(WIDTH)

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(Block() for _ in range(DEPTH))


class TextTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embeddings = Embeddings()
        self.encoder = Encoder()
        self.final_layer_norm = nn.LayerNorm(WIDTH)

    def forward(self, input_ids):
        """Pooled output [B,512]: the hidden state at each row's largest id."""
        x = self.embeddings(input_ids)
        pos = torch.arange(input_ids.shape[1], device=input_ids.device)
        # Causal: position i sees positions <= i (a Where, no Trilu needed).
        mask = torch.where(pos.unsqueeze(0) > pos.unsqueeze(1), torch.tensor(float("-inf")), torch.tensor(0.0))
        for layer in self.encoder.layers:
            x = layer(x, mask)
        x = self.final_layer_norm(x)
        # ArgMax over float ids (exact below 2^24): ONNX Runtime's CPU ArgMax
        # has no int64 kernel. Batch 1 in the graph, so one index_select.
        eos = input_ids.float().argmax(dim=-1)
        if input_ids.shape[0] == 1:
            return torch.index_select(x, 1, eos).reshape(1, WIDTH)
        return x[torch.arange(x.shape[0]), eos]


class ClipTextModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.text_model = TextTransformer()


class TextEncoder(nn.Module):
    """text_encoder.onnx: input_ids [1,L] int64 -> text_embedding [1,768]."""

    def __init__(self):
        super().__init__()
        self.clip_text_model = ClipTextModel()
        self.dim_align = nn.Linear(WIDTH, OUT)

    def forward(self, input_ids):
        return self.dim_align(self.clip_text_model.text_model(input_ids))


def load_text_encoder(state, prefix="text_encoder."):
    """TextEncoder with a checkpoint's weights (state without its model./
    module. prefix), eval mode, float32. position_ids, which only older
    transformers saved, is a constant here."""
    own = {k[len(prefix):]: v.float() for k, v in state.items()
           if k.startswith(prefix) and not k.endswith("position_ids")}
    enc = TextEncoder()
    enc.load_state_dict(own, strict=True)
    return enc.eval()


# ---------------------------------------------------------------- tokenizer


def _byte_chars():
    """GPT-2's byte -> printable character table."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


class Tokenizer:
    """CLIP's byte-level BPE from a tokenizer.json, as Hugging Face tokenizers
    runs it (NFC, white-space runs to one space, lower case, CLIP's split
    pattern, "</w>" word ends, <|startoftext|> ... <|endoftext|>).

    Python's re has no \\p{L}: letters are [^\\W\\d_] and numbers \\d, which
    equal CLIP's classes on the category names and on Latin text. It is the
    export's reference; infer/clip is the tokenizer proven on 1,000+ strings
    against Hugging Face's."""

    def __init__(self, path=None):
        path = path or BUNDLED_TOKENIZER
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            spec = json.load(f)
        model = spec["model"]
        self.vocab = model["vocab"]
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
        self.ranks = {m: r for r, m in enumerate(merges)}
        self.bytes = _byte_chars()
        self.split = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d|[^\W\d_]+|\d|(?:[^\s\w]|_)+")

    def encode(self, text):
        text = unicodedata.normalize("NFC", text)
        text = re.sub(r"\s+", " ", text).lower()
        ids = [BOS]
        for word in self.split.findall(text):
            ids += self.bpe("".join(self.bytes[b] for b in word.encode("utf-8")))
        return ids + [EOS]

    def bpe(self, word):
        parts = list(word[:-1]) + [word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = [(self.ranks.get((a, b), 1 << 30), i) for i, (a, b) in enumerate(zip(parts, parts[1:]))]
            rank, i = min(pairs)
            if rank == 1 << 30:
                break
            parts[i:i + 2] = [parts[i] + parts[i + 1]]
        return [self.vocab.get(p, EOS) for p in parts]

    def encode_prompt(self, phrase):
        prompt = TEMPLATE.format(phrase)
        return prompt, self.encode(prompt)


def find_tokenizer(folder):
    """The tokenizer.json of a checkpoint's folder, else the bundled one."""
    path = os.path.join(folder, "tokenizer.json") if folder else ""
    return path if path and os.path.exists(path) else BUNDLED_TOKENIZER


def embed(encoder, tokenizer, phrases):
    """[len(phrases), 768] float32 text vectors, one phrase at a time (no
    padding, so each EOS is the last token)."""
    with torch.no_grad():
        return torch.cat([encoder(torch.tensor([tokenizer.encode_prompt(p)[1]])) for p in phrases])
