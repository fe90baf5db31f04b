"""Made torch2.11.pth, expected.json and safetensors0.8.safetensors here, run
in an empty folder on a machine with torch 2.11 and safetensors 0.8 (the
project's device machine): python3 make.py"""
import collections as C
import json

import torch
import safetensors.torch as st

torch.manual_seed(7)
i = torch.arange(7) * 3
d = C.OrderedDict(w=torch.randn(4, 3), p=torch.nn.Parameter(torch.randn(4)), t=torch.randn(3, 5).t(),
                  h=torch.randn(2, 3).half(), b=torch.randn(5).bfloat16(), ids=i, v=i[2:5],
                  m=torch.tensor([True, False]), s=torch.tensor(2.5), e=torch.zeros(0, 3),
                  x=torch.randn(3, 1).expand(3, 4), c=torch.randn(1, 2, 3, 3).to(memory_format=torch.channels_last))
d._metadata = {"": {"version": 1}}


def raw(t):
    t = t.detach().contiguous()
    return (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()


torch.save({"model": d, "epoch": 3}, "torch2.11.pth")
json.dump({k: {"dtype": str(t.dtype)[6:], "shape": list(t.shape), "hex": raw(t).hex()} for k, t in d.items()},
          open("expected.json", "w"))
# save_file refuses tensors sharing memory (ids and its view v): clones.
st.save_file({k: t.detach().contiguous().clone() for k, t in d.items()}, "safetensors0.8.safetensors",
             metadata={"format": "pt"})
