#!/usr/bin/env python3
"""Writes the Swin Transformer V2 test fixtures from timm's own swin_transformer_v2.py.

The zoo's SwinV2 (io.github.lbpdjl.zoo.swin) is checked against what timm's code computes: small
configurations with random weights (every parameter drawn at random, so that no block is inert:
timm's own init zeroes the post-norm weights), an input, the eval-mode logits and the parameter
gradients of a scalar loss. There is no dropout, drop path or batch statistic, so train and eval
mode compute the same. It also dumps the state_dict keys and shapes of timm's swinv2 variants.

Nothing of timm is copied here: the script imports timm from a checkout (torchvision is stubbed as
in make_efficientformer_fixtures.py). To regenerate (Debian's torch 1.13 is enough):

    apt-get install -y python3-torch python3-numpy
    git clone https://github.com/huggingface/pytorch-image-models /tmp/timm   # or any checkout
    PYTHONPATH=/tmp/timm /usr/bin/python3 model-zoo/src/test/python/make_swinv2_fixtures.py

run from the project root; it overwrites the files in
model-zoo/src/test/resources/io/github/lbpdjl/zoo/swin/ and prints the sensitivities (LayerNorm
epsilon, tanh GELU, the logit-scale clamp) that the tests rely on.
"""
import copy
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the EfficientFormer script installs the torchvision stub and has the safetensors writer
from make_efficientformer_fixtures import rel, timm_commit, write_safetensors  # noqa: E402

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import timm.models.swin_transformer_v2 as sw  # noqa: E402

OUT = 'model-zoo/src/test/resources/io/github/lbpdjl/zoo/swin'

# name -> (constructor arguments, image size (H, W))
CONFIGS = {
    # two stages, window 8: stage 0 16x16 (blocks 0 / 1 unshifted / shifted by 4), stage 1 8x8
    # (the grid is one window: no shift)
    'swinv2_tiny2_w8_64': (
        dict(patch_size=4, embed_dim=16, depths=(2, 2), num_heads=(2, 4), window_size=8,
             num_classes=5), (64, 64)),
    # three stages, window 4, a non-square image: stage 0 8x16 (shift 2, 2), stage 1 4x8 (shift
    # 0, 2: one window high), stage 2 2x4 (window 2x4, no shift)
    'swinv2_tiny3_w4_32x64': (
        dict(patch_size=4, embed_dim=8, depths=(2, 2, 2), num_heads=(1, 2, 4), window_size=4,
             num_classes=3), (32, 64)),
}
BATCH = 2
# random weights (see randomize): LayerNorm weight range; patch embedding weight scale (small, so
# that its LayerNorm sees inputs of small variance and the epsilon shows); fc1 bias mean (GELU
# inputs centred where the tanh approximation is off)
LN_W = (0.5, 1.5)
PATCH_STD = 0.02
GELU_SHIFT = -1.5


def randomize(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit('.', 1)[-1]
            if leaf == 'logit_scale':
                # around timm's log(10); with several heads in the first block, its first head
                # above the clamp log(100) (exp(logit_scale) 135 unclamped)
                p.copy_(math.log(10) + 0.3 * torch.randn(p.shape, generator=gen))
                if name.startswith('layers.0.blocks.0.') and p.numel() > 1:
                    p.view(-1)[0] = math.log(100) + 0.3
            elif leaf in ('q_bias', 'v_bias'):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
            elif name == 'patch_embed.proj.weight':
                p.copy_(torch.randn(p.shape, generator=gen) * PATCH_STD)
            elif name == 'patch_embed.proj.bias':
                p.copy_(torch.randn(p.shape, generator=gen) * PATCH_STD)
            elif isinstance(model.get_submodule(name.rsplit('.', 1)[0]), nn.LayerNorm):
                if leaf == 'weight':
                    lo, hi = LN_W
                    p.copy_(lo + (hi - lo) * torch.rand(p.shape, generator=gen))
                else:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
            elif name.endswith('mlp.fc1.bias'):
                p.copy_(GELU_SHIFT + torch.randn(p.shape, generator=gen) * 0.3)
            elif leaf == 'bias':
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
            else:  # linear / conv weight
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5)


def logits_with(model, x, ln_eps=None, gelu_tanh=False, no_clamp=False):
    """Eval logits of a copy of the model with another LayerNorm epsilon, tanh GELU, or without
    the logit-scale clamp (the clamp bound raised so that it never applies)."""
    m = copy.deepcopy(model).eval()
    for mod in m.modules():
        if ln_eps is not None and isinstance(mod, nn.LayerNorm):
            mod.eps = ln_eps
        if gelu_tanh and isinstance(mod, sw.Mlp):
            mod.act = nn.GELU(approximate='tanh')  # timm's own GELU class has no approximate
    if no_clamp:
        saved = math.log
        # timm computes the clamp bound as math.log(1. / 0.01) in forward
        math.log = lambda v, *a: saved(v * 1e6, *a) if v == 100.0 else saved(v, *a)
    try:
        with torch.no_grad():
            return m(x)
    finally:
        if no_clamp:
            math.log = saved


def make(name, kwargs, image, commit):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(4321)
    model = sw.SwinTransformerV2(img_size=image, drop_path_rate=0.0, **kwargs)
    randomize(model, gen)
    x = torch.randn((BATCH, 3) + image, generator=gen).half().float()  # exact in F16
    target = torch.randn((BATCH, kwargs['num_classes']), generator=gen)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    model.eval()
    with torch.no_grad():
        logits = model(x)
        m64 = copy.deepcopy(model).double()
        logits64 = m64(x.double()).float()
    ln = [m.eps for m in model.modules() if isinstance(m, nn.LayerNorm)]
    sens = {
        'layernorm_eps_1e-6': rel(logits_with(model, x, ln_eps=1e-6), logits),
        'gelu_tanh': rel(logits_with(model, x, gelu_tanh=True), logits),
        'no_logit_scale_clamp': rel(logits_with(model, x, no_clamp=True), logits),
        'timm_f32_vs_f64': rel(logits, logits64),
    }

    model.train()
    model.zero_grad()
    out = model(x)
    loss = (out * target).sum()
    loss.backward()
    m64.train()
    m64.zero_grad()
    (m64(x.double()) * target.double()).sum().backward()
    g64 = dict(m64.named_parameters())
    sens['train_vs_eval'] = rel(out.detach(), logits)
    sens['timm_grad_f32_vs_f64'] = max(
        rel(p.grad.double(), g64[k].grad) for k, p in model.named_parameters()
        if g64[k].grad.abs().max() > 0)
    io = {'input': x.half().numpy(), 'target': target.numpy(),
          'logits': logits.numpy(), 'logits_f64': logits64.numpy(),
          'train_logits': out.detach().numpy(), 'loss': loss.detach().reshape(1).numpy()}
    for k, p in model.named_parameters():
        io['grad.' + k] = p.grad.numpy()
        io['grad_f64.' + k] = g64[k].grad.float().numpy()
    windows = [(b.window_size, b.shift_size) for s in model.layers for b in s.blocks]
    meta = {'timm_commit': commit, 'torch': torch.__version__, 'image_size': json.dumps(image),
            'batch': BATCH, 'config': json.dumps(kwargs), 'layer_norm_eps': json.dumps(ln[:1]),
            'windows': json.dumps(windows),
            'grad_mode': 'train (no dropout: as eval), loss = sum(logits * target)',
            'sensitivity': json.dumps(sens)}
    write_safetensors(os.path.join(OUT, name + '.safetensors'),
                      {k: v.numpy() for k, v in state.items()}, meta)
    write_safetensors(os.path.join(OUT, name + '-io.safetensors'), io, meta)
    print(name, 'params', sum(p.numel() for p in model.parameters()), 'windows', windows,
          'sensitivity', sens)


def dump_keys(variant, commit):
    torch.manual_seed(0)
    model = getattr(sw, variant)()
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
    for v in ('swinv2_tiny_window8_256', 'swinv2_small_window8_256', 'swinv2_base_window8_256',
              'swinv2_tiny_window16_256', 'swinv2_small_window16_256',
              'swinv2_base_window16_256'):
        dump_keys(v, commit)


if __name__ == '__main__':
    main()
