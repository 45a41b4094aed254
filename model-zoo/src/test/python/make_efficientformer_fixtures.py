#!/usr/bin/env python3
"""Writes the EfficientFormer test fixtures from timm's own efficientformer.py.

The zoo's EfficientFormer (io.github.lbpdjl.zoo.efficientformer) is checked against what timm's
code computes: two small configurations with random weights (every weight, BatchNorm statistic,
layer scale and attention bias drawn at random, so that no block is inert), an input, the
eval-mode logits, and the parameter gradients of a scalar loss in train mode (BatchNorm with batch
statistics, the mode in which both DJL engines can differentiate: DJL's MXNet BatchNorm refuses an
inference-mode forward under a GradientCollector). It also dumps the state_dict keys and shapes of
timm's efficientformer_l1, _l3 and _l7.

Nothing of timm is copied here: the script imports timm from a checkout. To regenerate (Debian's
torch 1.13 is enough; torchvision is not needed, a stub stands in for it):

    apt-get install -y python3-torch python3-numpy
    git clone https://github.com/huggingface/pytorch-image-models /tmp/timm   # or any checkout
    PYTHONPATH=/tmp/timm /usr/bin/python3 model-zoo/src/test/python/make_efficientformer_fixtures.py

run from the project root; it overwrites the files in
model-zoo/src/test/resources/io/github/lbpdjl/zoo/efficientformer/ and prints the sensitivities
(LayerNorm epsilon, tanh GELU) that the tests rely on.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchvision_stub  # noqa: E402

torchvision_stub.install()

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import timm.models.efficientformer as ef  # noqa: E402

OUT = 'model-zoo/src/test/resources/io/github/lbpdjl/zoo/efficientformer'

# name -> (constructor arguments, image size); timm's attention biases are for a 7x7 grid, so the
# image must give 7x7 tokens in the last stage: 4 * 2^(stages - 1) * 7
CONFIGS = {
    # three stages, last stage [Meta4D, Flat, Meta3D]
    'efficientformer_tiny3_112': (
        dict(depths=(1, 1, 2), embed_dims=(8, 12, 16), num_vit=1, num_classes=5), 112),
    # two stages, last stage [Flat, Meta3D] (num_vit >= depth, as in efficientformer_l7)
    'efficientformer_tiny2_56': (
        dict(depths=(1, 1), embed_dims=(8, 8), num_vit=1, num_classes=3), 56),
}
BATCH = 2
# the random weights (see randomize): layer scale std in Meta4D / Meta3D blocks; BatchNorm weight
# range and bias std, except before a GELU (weight range, bias mean); LayerNorm weight range
LS_STD_4D, LS_STD_3D = 0.5, 0.1
BN_W, BN_B_STD = (0.02, 0.05), 0.03
BN_W_GELU, GELU_SHIFT = (0.5, 1.0), -1.5
LN_W = (1.0, 2.0)


def timm_commit():
    path = os.path.dirname(os.path.dirname(os.path.abspath(ef.__file__)))
    try:
        return subprocess.check_output(
            ['git', '-C', path, 'rev-parse', 'HEAD'], stderr=subprocess.DEVNULL).decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown (not a git checkout: ' + path + ')'


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: header length, JSON header, contiguous little-endian data."""
    codes = {np.dtype('float32'): 'F32', np.dtype('float16'): 'F16', np.dtype('int64'): 'I64'}
    header = {'__metadata__': {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)  # (np.ascontiguousarray would make a scalar 1-d)
        data = arr.astype(arr.dtype.newbyteorder('<'), copy=False).tobytes(order='C')
        header[name] = {'dtype': codes[arr.dtype], 'shape': list(arr.shape),
                        'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def randomize(model, gen):
    """Every float parameter at random. timm's init makes the blocks nearly inert (layer scale
    1e-5). Here every block contributes; the residual streams are small (small BatchNorm weights and
    biases), so that LayerNorm sees inputs of small variance and its epsilon shows in the logits;
    the GELU inputs are centred at GELU_SHIFT, where the tanh approximation is off by about 2e-4."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit('.', 1)[-1]
            if leaf == 'gamma':  # layer scale
                block = model.get_submodule(name.rsplit('.', 2)[0])
                std = LS_STD_3D if isinstance(block, ef.MetaBlock1d) else LS_STD_4D
                p.copy_(torch.randn(p.shape, generator=gen) * std)
            elif leaf == 'attention_biases':
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
            elif p.dim() == 1 and 'norm' in name and leaf == 'weight':
                lo, hi = BN_W
                if name.endswith('mlp.norm1.weight'):  # before the GELU
                    lo, hi = BN_W_GELU
                elif isinstance(model.get_submodule(name[:-len('.weight')]), nn.LayerNorm):
                    lo, hi = LN_W
                p.copy_(lo + (hi - lo) * torch.rand(p.shape, generator=gen))
            elif name.endswith('mlp.norm1.bias') or (name.endswith('mlp.fc1.bias') and isinstance(
                    model.get_submodule(name.rsplit('.', 3)[0]), ef.MetaBlock1d)):  # before GELU
                p.copy_(GELU_SHIFT + torch.randn(p.shape, generator=gen) * 0.3)
            elif p.dim() == 1 and 'norm' in name:
                ln = isinstance(model.get_submodule(name[:-len('.bias')]), nn.LayerNorm)
                p.copy_(torch.randn(p.shape, generator=gen) * (0.2 if ln else BN_B_STD))
            elif leaf == 'bias':
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            else:  # conv / linear weight
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


def calibrate(model, x, gen):
    """BatchNorm statistics of the input's own batch, then perturbed (mean +- 0.3 std, variance
    x 0.6-1.4): eval mode normalises to about unit variance, yet differs from train mode."""
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for m in bns:
            m.reset_running_stats()
            m.momentum = None  # cumulative average: after one batch, that batch's statistics
        model.train()
        model(x)
        for m in bns:
            m.momentum = 0.1
            std = m.running_var.sqrt()
            m.running_mean.add_(0.3 * std * torch.randn(std.shape, generator=gen))
            m.running_var.mul_(0.6 + 0.8 * torch.rand(std.shape, generator=gen))
            m.num_batches_tracked.fill_(7)


def logits_with(model, x, ln_eps=None, gelu_tanh=False):
    """Eval logits of a copy of the model with another LayerNorm epsilon or tanh GELU."""
    import copy
    m = copy.deepcopy(model).eval()
    for mod in m.modules():
        if ln_eps is not None and isinstance(mod, nn.LayerNorm):
            mod.eps = ln_eps
        if gelu_tanh and isinstance(mod, nn.GELU):
            mod.approximate = 'tanh'
    with torch.no_grad():
        return m(x)


def rel(a, b):
    return float((a - b).abs().max() / b.abs().max())


def grad_noise(model, state, x, target):
    """Worst per-tensor max |g32 - g64| / max |g64| of timm's own train-mode gradients, leaving
    out the convolution biases (each feeds a BatchNorm: zero gradient, rounding noise)."""
    import copy
    m64 = copy.deepcopy(model).double()
    m64.load_state_dict(state)
    m64.train()
    m64.zero_grad()
    (m64(x.double()) * target.double()).sum().backward()
    g64 = dict(m64.named_parameters())
    worst = 0.0
    for k, p in model.named_parameters():
        module = model.get_submodule(k.rsplit('.', 1)[0])
        if k.endswith('.bias') and isinstance(module, nn.Conv2d):
            continue
        worst = max(worst, rel(p.grad.double(), g64[k].grad))
    return worst


def make(name, kwargs, image, commit):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    model = ef.EfficientFormer(**kwargs)
    randomize(model, gen)
    x = torch.randn((BATCH, 3, image, image), generator=gen).half().float()  # exact in F16
    calibrate(model, x, gen)
    target = torch.randn((BATCH, kwargs['num_classes']), generator=gen)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    model.eval()
    with torch.no_grad():
        logits = model(x)
        logits64 = model.double()(x.double()).float()
        model.float()
    ln = [m.eps for m in model.modules() if isinstance(m, nn.LayerNorm)]
    sens = {
        'layernorm_eps_1e-6': rel(logits_with(model, x, ln_eps=1e-6), logits),
        'gelu_tanh': rel(logits_with(model, x, gelu_tanh=True), logits),
        'timm_f32_vs_f64': rel(logits, logits64),
    }

    model.train()
    model.zero_grad()
    out = model(x)
    loss = (out * target).sum()
    loss.backward()
    sens['train_vs_eval'] = rel(out.detach(), logits)
    sens['timm_grad_f32_vs_f64'] = grad_noise(model, state, x, target)
    io = {'input': x.half().numpy(), 'target': target.numpy(),
          'logits': logits.numpy(), 'logits_f64': logits64.numpy(),
          'train_logits': out.detach().numpy(), 'loss': loss.detach().reshape(1).numpy()}
    for k, p in model.named_parameters():
        io['grad.' + k] = p.grad.numpy()
    for k, b in model.named_buffers():
        if k.endswith('running_mean') or k.endswith('running_var'):
            io['after_train.' + k] = b.numpy()
    meta = {'timm_commit': commit, 'torch': torch.__version__, 'image_size': image,
            'batch': BATCH, 'config': json.dumps(kwargs), 'layer_norm_eps': json.dumps(ln[:1]),
            'grad_mode': 'train (BatchNorm batch statistics), loss = sum(logits * target)',
            'sensitivity': json.dumps(sens)}
    write_safetensors(os.path.join(OUT, name + '.safetensors'),
                      {k: v.numpy() for k, v in state.items()}, meta)
    write_safetensors(os.path.join(OUT, name + '-io.safetensors'), io, meta)
    print(name, 'params', sum(p.numel() for p in model.parameters()), 'sensitivity', sens)


def dump_keys(variant, commit):
    torch.manual_seed(0)
    model = getattr(ef, variant)()
    with open(os.path.join(OUT, variant + '.keys.txt'), 'w') as f:
        f.write('# state_dict of timm %s (timm %s): key, shape, dtype\n' % (variant, commit))
        for k, v in model.state_dict().items():
            f.write('%s %s %s\n' % (k, 'x'.join(str(s) for s in v.shape) or '-',
                                    str(v.dtype).replace('torch.', '')))
    print(variant, len(model.state_dict()), 'state_dict entries')


def main():
    os.makedirs(OUT, exist_ok=True)
    commit = timm_commit()
    torch.set_num_threads(1)
    for name, (kwargs, image) in CONFIGS.items():
        make(name, kwargs, image, commit)
    for v in ('efficientformer_l1', 'efficientformer_l3', 'efficientformer_l7'):
        dump_keys(v, commit)


if __name__ == '__main__':
    main()
