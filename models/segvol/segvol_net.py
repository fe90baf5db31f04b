"""SegVol's image encoder, prompt encoder and mask decoder in plain PyTorch.

Module and parameter names follow the published checkpoints (the ViT keys of
MONAI 0.9, the SAM-style names of the decoder), so that a checkpoint's state
dict loads into these modules without a key map. The facts are those of
shared/docs/segvol.md; the forward passes are the ones the ONNX graphs
contain, with the fixed 32x256x256 window.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

WINDOW = (32, 256, 256)  # D, H, W of one model window
PATCH = (4, 16, 16)
GRID = tuple(w // p for w, p in zip(WINDOW, PATCH))  # 8, 16, 16 tokens
WIDTH = 768
ENCODER_DEPTH = 12
NUM_MASK_TOKENS = 4


# ---------------------------------------------------------------- image encoder


class Patchify(nn.Module):
    """Cuts [B,1,D,H,W] into patches flattened in MONAI's (p1 p2 p3 c) order."""

    def forward(self, x):
        b, c = x.shape[0], x.shape[1]
        (gd, gh, gw), (pd, ph, pw) = GRID, PATCH
        x = x.reshape(b, c, gd, pd, gh, ph, gw, pw)
        x = x.permute(0, 2, 4, 6, 3, 5, 7, 1)
        return x.reshape(b, gd * gh * gw, pd * ph * pw * c)


class PatchEmbedding(nn.Module):
    def __init__(self):
        super().__init__()
        # Index 1 is the Linear: the checkpoint calls it patch_embeddings.1.
        self.patch_embeddings = nn.Sequential(Patchify(), nn.Linear(PATCH[0] * PATCH[1] * PATCH[2], WIDTH))
        self.position_embeddings = nn.Parameter(torch.zeros(1, GRID[0] * GRID[1] * GRID[2], WIDTH))

    def forward(self, x):
        return self.patch_embeddings(x) + self.position_embeddings


class SelfAttention(nn.Module):
    """MONAI 0.9 SABlock: one qkv matrix without bias, laid out (qkv, head, dim)."""

    def __init__(self, heads=12):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(WIDTH, 3 * WIDTH, bias=False)
        self.out_proj = nn.Linear(WIDTH, WIDTH)

    def forward(self, x):
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, WIDTH // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        att = (q @ k.transpose(-2, -1) * (WIDTH // self.heads) ** -0.5).softmax(dim=-1)
        return self.out_proj((att @ v).transpose(1, 2).reshape(b, n, WIDTH))


class EncoderMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear1 = nn.Linear(WIDTH, 4 * WIDTH)
        self.linear2 = nn.Linear(4 * WIDTH, WIDTH)

    def forward(self, x):
        return self.linear2(F.gelu(self.linear1(x)))  # exact (erf) GELU


class EncoderBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.mlp = EncoderMLP()
        self.norm1 = nn.LayerNorm(WIDTH)
        self.attn = SelfAttention()
        self.norm2 = nn.LayerNorm(WIDTH)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class ImageEncoder(nn.Module):
    """ViT-B over a 32x256x256 window; returns [1,768,8,16,16]."""

    def __init__(self, depth=ENCODER_DEPTH):
        super().__init__()
        self.patch_embedding = PatchEmbedding()
        self.blocks = nn.ModuleList(EncoderBlock() for _ in range(depth))
        self.norm = nn.LayerNorm(WIDTH)

    def forward(self, image):
        x = self.patch_embedding(image)
        for block in self.blocks:
            x = block(x)
        x = self.norm(x)
        return x.transpose(1, 2).reshape(x.shape[0], WIDTH, *GRID)


# ---------------------------------------------------------------- prompt encoder


class RandomFourier(nn.Module):
    """SAM's random Fourier position encoding of coordinates in [0,1]."""

    def __init__(self):
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.zeros(3, WIDTH // 2))

    def encode(self, unit_coords):
        c = (2 * unit_coords - 1) @ self.positional_encoding_gaussian_matrix
        c = 2 * math.pi * c
        return torch.cat([torch.sin(c), torch.cos(c)], dim=-1)

    def dense(self):
        """Encoding of the token grid, [768,8,16,16]; coordinates ordered
        (H/16, D/8, W/16) as upstream stacks them, cell centres at +0.5."""
        d, h, w = GRID
        t = self.positional_encoding_gaussian_matrix.dtype
        zd = (torch.arange(d, dtype=t) + 0.5) / d
        zh = (torch.arange(h, dtype=t) + 0.5) / h
        zw = (torch.arange(w, dtype=t) + 0.5) / w
        gd, gh, gw = torch.meshgrid(zd, zh, zw, indexing="ij")
        return self.encode(torch.stack([gh, gd, gw], dim=-1)).permute(3, 0, 1, 2)


class PromptEncoder(nn.Module):
    """Point tokens for labels -1 (padding), 0, 1 and 2/3 (box corners).

    The mask-prompt branch (mask_downscaling) exists only so that its
    checkpoint keys load; SegVol never uses a mask prompt at inference.
    """

    def __init__(self):
        super().__init__()
        self.pe_layer = RandomFourier()
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, WIDTH) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, WIDTH)
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=2, stride=2),
            ChannelNorm(4),
            nn.GELU(),
            nn.Conv2d(4, 16, kernel_size=2, stride=2),
            ChannelNorm(16),
            nn.GELU(),
            nn.Conv2d(16, WIDTH, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, WIDTH)
        # Upstream divides d by W and h by D (the 2D SAM habit): the weights
        # were trained with it, so it is copied exactly. Not persistent: it is
        # no checkpoint key.
        self.register_buffer("coord_scale", torch.tensor([WINDOW[2], WINDOW[0], WINDOW[2]], dtype=torch.float32), False)

    def forward(self, point_coords, point_labels):
        pe = self.pe_layer.encode((point_coords + 0.5) / self.coord_scale)
        pad = (point_labels == -1).unsqueeze(-1)
        pe = torch.where(pad, torch.zeros_like(pe), pe)
        # One row per label -1, 0, 1, 2, 3, picked by label + 1.
        table = torch.cat([self.not_a_point_embed.weight] + [e.weight for e in self.point_embeddings], dim=0)
        index = (point_labels + 1).clamp(0, 4).to(torch.int64)
        return pe + table[index]


class ChannelNorm(nn.Module):
    """SAM's LayerNorm2d (parameters only matter for the key names)."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))


# ---------------------------------------------------------------- mask decoder


class Attention(nn.Module):
    """SAM attention; cross-attentions project down to width/2."""

    def __init__(self, heads=8, downsample=1):
        super().__init__()
        inner = WIDTH // downsample
        self.heads = heads
        self.root_dim = math.sqrt(inner // heads)  # upstream divides by it
        self.q_proj = nn.Linear(WIDTH, inner)
        self.k_proj = nn.Linear(WIDTH, inner)
        self.v_proj = nn.Linear(WIDTH, inner)
        self.out_proj = nn.Linear(inner, WIDTH)

    def split(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q, k, v):
        q, k, v = self.split(self.q_proj(q)), self.split(self.k_proj(k)), self.split(self.v_proj(v))
        att = torch.softmax(q @ k.transpose(-2, -1) / self.root_dim, dim=-1)
        out = (att @ v).transpose(1, 2)
        return self.out_proj(out.reshape(out.shape[0], out.shape[1], -1))


class DecoderMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin1 = nn.Linear(WIDTH, 2048)
        self.lin2 = nn.Linear(2048, WIDTH)

    def forward(self, x):
        return self.lin2(F.relu(self.lin1(x)))


class TwoWayBlock(nn.Module):
    def __init__(self, skip_first_pe):
        super().__init__()
        self.self_attn = Attention()
        self.norm1 = nn.LayerNorm(WIDTH)
        self.cross_attn_token_to_image = Attention(downsample=2)
        self.norm2 = nn.LayerNorm(WIDTH)
        self.mlp = DecoderMLP()
        self.norm3 = nn.LayerNorm(WIDTH)
        self.norm4 = nn.LayerNorm(WIDTH)
        self.cross_attn_image_to_token = Attention(downsample=2)
        self.skip_first_pe = skip_first_pe

    def forward(self, queries, keys, query_pe, key_pe):
        if self.skip_first_pe:
            # The first layer replaces the queries by their self-attention.
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        k = keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(queries + query_pe, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, queries + query_pe, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(TwoWayBlock(skip_first_pe=(i == 0)) for i in range(2))
        self.final_attn_token_to_image = Attention(downsample=2)
        self.norm_final_attn = nn.LayerNorm(WIDTH)

    def forward(self, image, image_pe, tokens):
        # reshape, not flatten(2): flatten exports a Slice of the shape, and
        # Slice crashes ONNX Runtime 1.29's CUDA plugin provider.
        keys = image.reshape(image.shape[0], image.shape[1], -1).permute(0, 2, 1)
        key_pe = image_pe.reshape(image_pe.shape[0], image_pe.shape[1], -1).permute(0, 2, 1)
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, key_pe)
        attn = self.final_attn_token_to_image(queries + tokens, keys + key_pe, keys)
        return self.norm_final_attn(queries + attn), keys


class WholeLayerNorm(nn.LayerNorm):
    """LayerNorm over all of (192,16,32,32) at once, as upstream.

    With two_stage set (for export), mean and variance are taken per channel
    first and then across channels: ONNX Runtime's one-pass LayerNormalization
    over 3.1 M values loses about 4e-4, the two stages keep it at 1e-6.
    """

    two_stage = False

    def forward(self, x):
        if not self.two_stage:
            return super().forward(x)
        dims = tuple(range(2, x.dim()))
        mean = x.mean(dim=dims, keepdim=True).mean(dim=1, keepdim=True)
        centred = x - mean
        var = (centred * centred).mean(dim=dims, keepdim=True).mean(dim=1, keepdim=True)
        return centred / torch.sqrt(var + self.eps) * self.weight + self.bias


class HyperMLP(nn.Module):
    """SAM's 3-layer MLP with ReLU between layers."""

    def __init__(self, dims):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = F.relu(x)
        return x


class MaskDecoder(nn.Module):
    """Two-way transformer and upscaling; returns mask 0's logits.

    Only mask token 0 is ever used (multimask off), so only its hypernetwork
    runs; the other three MLPs and the IoU head load but stay out of the graph.
    """

    def __init__(self):
        super().__init__()
        self.transformer = TwoWayTransformer()
        self.iou_token = nn.Embedding(1, WIDTH)
        self.mask_tokens = nn.Embedding(NUM_MASK_TOKENS, WIDTH)
        up = tuple(2 * g for g in GRID)
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose3d(WIDTH, WIDTH // 4, kernel_size=2, stride=2),
            WholeLayerNorm((WIDTH // 4, *up)),
            nn.GELU(),
            nn.ConvTranspose3d(WIDTH // 4, WIDTH // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.output_hypernetworks_mlps = nn.ModuleList(
            HyperMLP((WIDTH, WIDTH, WIDTH, WIDTH // 8)) for _ in range(NUM_MASK_TOKENS)
        )
        self.iou_prediction_head = HyperMLP((WIDTH, 256, 256, NUM_MASK_TOKENS))
        self.txt_align_upscaled_embedding = nn.Linear(WIDTH, WIDTH // 8)

    def forward(self, image_embedding, sparse_tokens, text_embedding, has_text, image_pe, no_mask):
        out_tokens = torch.cat([self.iou_token.weight, self.mask_tokens.weight], dim=0).unsqueeze(0)
        tokens = torch.cat([out_tokens, sparse_tokens], dim=1)
        src = image_embedding + no_mask.reshape(1, WIDTH, 1, 1, 1)
        hs, keys = self.transformer(src, image_pe.unsqueeze(0), tokens)
        src = keys.transpose(1, 2).reshape(src.shape)
        up = self.output_upscaling(src)
        b, c = up.shape[0], up.shape[1]
        flat = up.reshape(b, c, -1)
        hyper = self.output_hypernetworks_mlps[0](hs[:, 1, :]).unsqueeze(1)
        masks = hyper @ flat
        # The text term is upstream's txt_align(text) @ features, switched by
        # has_text so that one graph serves prompts with and without text.
        text = self.txt_align_upscaled_embedding(text_embedding).unsqueeze(1)
        masks = masks + has_text.reshape(1, 1, 1) * (text @ flat)
        low_res = masks.reshape(b, 1, up.shape[2], up.shape[3], up.shape[4])
        # By scale factors, which are exact (the window is 4x the upscaled
        # grid in H and W): a Resize by output size crashes ONNX Runtime
        # 1.29's CUDA plugin provider, a Resize by scales runs.
        scale = tuple(w / g for w, g in zip(WINDOW, (4 * g for g in GRID)))
        logits = F.interpolate(low_res, scale_factor=scale, mode="trilinear", align_corners=False,
                               recompute_scale_factor=False)
        return logits, low_res


# ---------------------------------------------------------------- the whole


class SegVolNet(nn.Module):
    """The three exported parts under the checkpoint's top-level names."""

    def __init__(self, encoder_depth=ENCODER_DEPTH):
        super().__init__()
        self.image_encoder = ImageEncoder(encoder_depth)
        self.prompt_encoder = PromptEncoder()
        self.mask_decoder = MaskDecoder()

    def set_two_stage_norm(self, on):
        self.mask_decoder.output_upscaling[1].two_stage = on


class PromptGraph(nn.Module):
    """prompt_encoder.onnx: point_coords [1,N,3], point_labels [1,N] -> point_tokens."""

    def __init__(self, net):
        super().__init__()
        self.prompt_encoder = net.prompt_encoder

    def forward(self, point_coords, point_labels):
        return self.prompt_encoder(point_coords, point_labels)


class DecoderGraph(nn.Module):
    """mask_decoder.onnx: embedding, sparse tokens, text vector and switch -> logits."""

    def __init__(self, net):
        super().__init__()
        self.mask_decoder = net.mask_decoder
        self.prompt_encoder = net.prompt_encoder

    def forward(self, image_embedding, sparse_tokens, text_embedding, has_text):
        pe = self.prompt_encoder.pe_layer.dense()
        no_mask = self.prompt_encoder.no_mask_embed.weight
        return self.mask_decoder(image_embedding, sparse_tokens, text_embedding, has_text, pe, no_mask)
