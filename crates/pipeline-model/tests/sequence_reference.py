"""Reference numbers for the sequence layers of pipeline-model (src/sequence/).

Run with a Python that has PyTorch (2.x):

    python crates/pipeline-model/tests/sequence_reference.py > /tmp/sequence_constants.rs

It prints, as Rust constants, everything stored in
crates/pipeline-model/tests/sequence.rs: the weights of nn.RNN, nn.LSTM,
nn.GRU, nn.MultiheadAttention and nn.TransformerEncoderLayer (seeded, then
every parameter redrawn in ±0.5 so biases and layer norms are not trivial),
their outputs on fixed inputs in eval mode, the sinusoidal positional encoding,
and the gradients of a weighted sum of the outputs. Everything is float32.
"""

import math

import numpy as np
import torch
from torch import nn

N, T, F, H = 2, 4, 3, 4  # batch, time, features, hidden units
D, HEADS, FEEDFORWARD = 4, 2, 8  # attention / transformer sizes


def rust_list(values):
    """The shortest decimal of each float32 that reads back as the same f32."""
    return "[" + ", ".join(str(np.float32(v)) for v in values) + "]"


def const(name, tensor):
    flat = tensor.detach().reshape(-1).tolist()
    print("#[rustfmt::skip]")
    print(f"const {name}: [f32; {len(flat)}] = {rust_list(flat)};")


def weights(name, module):
    """The module's parameters as a Rust table of (name, values)."""
    print("#[rustfmt::skip]")
    print(f"const {name}: &[(&str, &[f32])] = &[")
    for key, value in module.state_dict().items():
        print(f'    ("{key}", &{rust_list(value.reshape(-1).tolist())}),')
    print("];")


def randomize(module):
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.5, 0.5)
    return module


def loss_weights(shape):
    """The fixed weights C of the loss sum(output * C): ((i % 7) - 3) / 4."""
    count = math.prod(shape)
    return ((torch.arange(count) % 7).float() - 3.0).div(4.0).reshape(shape)


print(f"// PyTorch {torch.__version__}; printed by tests/sequence_reference.py")
torch.manual_seed(0)
X = torch.randn(N, T, F)
XD = torch.randn(N, T, D)
const("X", X)
const("XD", XD)


def recurrent():
    for kind, cls in (("RNN", nn.RNN), ("LSTM", nn.LSTM), ("GRU", nn.GRU)):
        module = randomize(cls(F, H, batch_first=True))
        module.eval()
        weights(f"{kind}_WEIGHTS", module)
        print(f"const {kind}_PARAMETERS: usize = {sum(p.numel() for p in module.parameters())};")
        output, _ = module(X)
        const(f"{kind}_SEQUENCE", output)
        const(f"{kind}_LAST", output[:, -1, :])
        if kind == "LSTM":
            loss = (output * loss_weights(output.shape)).sum()
            loss.backward()
            const("LSTM_GRAD_WEIGHT_HH", module.weight_hh_l0.grad)
            const("LSTM_GRAD_BIAS_IH", module.bias_ih_l0.grad)


def attention():
    module = randomize(nn.MultiheadAttention(D, HEADS, batch_first=True))
    module.eval()
    weights("ATTENTION_WEIGHTS", module)
    print(f"const ATTENTION_PARAMETERS: usize = {sum(p.numel() for p in module.parameters())};")
    output, _ = module(XD, XD, XD, need_weights=False)
    const("ATTENTION_OUTPUT", output)


def transformer():
    module = randomize(
        nn.TransformerEncoderLayer(
            D,
            HEADS,
            dim_feedforward=FEEDFORWARD,
            dropout=0.1,
            activation="relu",
            batch_first=True,
            norm_first=False,
        )
    )
    module.eval()
    weights("TRANSFORMER_WEIGHTS", module)
    print(f"const TRANSFORMER_PARAMETERS: usize = {sum(p.numel() for p in module.parameters())};")
    # The fast path of eval mode is for inference only (no autograd); with
    # gradients enabled PyTorch takes the ordinary path, the same numbers.
    output = module(XD)
    const("TRANSFORMER_OUTPUT", output)
    loss = (output * loss_weights(output.shape)).sum()
    loss.backward()
    const("TRANSFORMER_GRAD_IN_PROJ_WEIGHT", module.self_attn.in_proj_weight.grad)
    const("TRANSFORMER_GRAD_LINEAR1_WEIGHT", module.linear1.weight.grad)
    const("TRANSFORMER_GRAD_NORM1_WEIGHT", module.norm1.weight.grad)


def encoding(length, d_model):
    """The encoding of "Attention is all you need" as the PyTorch tutorial
    builds it (in float64, then rounded): pe[pos, 2i] = sin(pos / 10000^(2i/d)),
    pe[pos, 2i+1] = cos(pos / 10000^(2i/d))."""
    position = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    div_term = torch.exp(
        torch.arange(0, d_model, 2, dtype=torch.float64) * (-math.log(10000.0) / d_model)
    )
    pe = torch.zeros(length, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term[: d_model // 2])
    return pe.float()


def positional():
    const("POSITIONAL_4", encoding(6, 4))
    const("POSITIONAL_5", encoding(6, 5))
    const("XD_PLUS_POSITIONAL", XD + encoding(T, D).unsqueeze(0))


recurrent()
attention()
transformer()
positional()
