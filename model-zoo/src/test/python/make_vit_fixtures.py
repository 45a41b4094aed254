#!/usr/bin/env python3
"""Writes the ViT / DeiT test fixtures from timm's own vision_transformer.py and deit.py.

The zoo's VisionTransformer (io.github.lbpdjl.zoo.vit) is checked against what timm's code
computes: small configurations with random weights (every weight drawn at random so that no block
is inert), an input, the eval-mode logits (or features, for a headless model), and the parameter
gradients of sum(output * target) in train mode (ViT has no dropout or BatchNorm here, so train and
eval agree). The configurations cover the features a user's checkpoint may have: plain, headless
(num_classes=0), DeiT distilled (dist_token, head_dist), global_pool='avg' with fc_norm, register
tokens with no_embed_class and layer scale, and checkpoints at another image size whose position
embeddings timm resamples on load (checkpoint_filter_fn -> resample_abs_pos_embed).

Nothing of timm is copied here: the script imports timm from a checkout. To regenerate (Debian's
torch 1.13 is enough; torchvision is not needed, a stub stands in for it):

    apt-get install -y python3-torch python3-numpy
    git clone https://github.com/huggingface/pytorch-image-models /tmp/timm   # or any checkout
    PYTHONPATH=/tmp/timm /usr/bin/python3 model-zoo/src/test/python/make_vit_fixtures.py

run from the project root; it overwrites the files in
model-zoo/src/test/resources/io/github/lbpdjl/zoo/vit/ and prints the sensitivities (LayerNorm
epsilon 1e-5 instead of 1e-6, tanh GELU) that the tests rely on.

Files per fixture <name>: <name>.safetensors (the checkpoint: timm's state_dict as timm saves it,
at the checkpoint's own image size) and <name>-io.safetensors (input, target, logits, logits_f64,
train_logits, grad.<param> for the model as built, and for a resampled checkpoint the model's
pos_embed after timm's load); the metadata holds the model's timm arguments ("config", JSON) and
"checkpoint_img_size".
"""
import copy
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
import timm.models.vision_transformer as vt  # noqa: E402
import timm.models.deit as deit  # noqa: E402

OUT = 'model-zoo/src/test/resources/io/github/lbpdjl/zoo/vit'

BASE = dict(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, num_classes=5,
            mlp_ratio=2.0)
ONE = dict(BASE, depth=1)  # the features that concern the ends of the model need one block

# name -> (model class, timm arguments of the model, image size of the checkpoint or None)
CONFIGS = {
    'vit_plain': (vt.VisionTransformer, dict(BASE), None),
    'vit_headless': (vt.VisionTransformer, dict(ONE, num_classes=0), None),
    'deit_distilled': (deit.VisionTransformerDistilled, dict(ONE), None),
    'vit_avgpool': (vt.VisionTransformer, dict(ONE, global_pool='avg', patch_size=16,
                                               img_size=64, num_heads=4), None),
    'vit_reg_ls': (vt.VisionTransformer, dict(BASE, reg_tokens=2, no_embed_class=True,
                                              init_values=1e-5), None),
    # timm's *_reg*_gap_* layout: no class token, registers, patches-only position embeddings,
    # the final norm before the average pooling (fc_norm=False)
    'vit_gap': (vt.VisionTransformer, dict(ONE, class_token=False, reg_tokens=1,
                                           no_embed_class=True, global_pool='avg',
                                           fc_norm=False), None),
    # a checkpoint made at 48 pixels (6x6 patches) used at 32 (4x4): bicubic, antialiased
    'vit_pos48to32': (vt.VisionTransformer, dict(ONE), 48),
    # a checkpoint made at 32 pixels (4x4 patches) used at 56 (7x7), extra tokens not embedded
    'vit_reg_pos32to56': (vt.VisionTransformer, dict(ONE, img_size=56, reg_tokens=1,
                                                     no_embed_class=True), 32),
}
BATCH = 2
LN_W = (1.0, 2.0)
GELU_SHIFT = -2.6
EMBED_STD = 0.03  # the residual stream stays small, so that LayerNorm's epsilon shows


def timm_commit():
    path = os.path.dirname(os.path.dirname(os.path.abspath(vt.__file__)))
    try:
        return subprocess.check_output(
            ['git', '-C', path, 'rev-parse', 'HEAD'], stderr=subprocess.DEVNULL).decode().strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown (not a git checkout: ' + path + ')'


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: header length, JSON header, contiguous little-endian data."""
    codes = {np.dtype('float32'): 'F32', np.dtype('float16'): 'F16'}
    header = {'__metadata__': {k: str(v) for k, v in metadata.items()}}
    blobs, offset = [], 0
    for name, arr in tensors.items():
        arr = np.asarray(arr)
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
    """Every parameter at random: small token embeddings and block outputs (a small residual
    stream, so that LayerNorm's epsilon shows in the outputs), LayerNorm weights in LN_W, the
    MLP's GELU inputs centred at GELU_SHIFT (where the tanh approximation is off most, by about 5e-4),
    layer scale factors around 1."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit('.', 1)[-1]
            module = model.get_submodule(name.rsplit('.', 1)[0]) if '.' in name else model
            if name in ('cls_token', 'dist_token', 'reg_token', 'pos_embed'):
                p.copy_(torch.randn(p.shape, generator=gen) * EMBED_STD)
            elif leaf == 'gamma':
                p.copy_(0.5 + torch.rand(p.shape, generator=gen))
            elif isinstance(module, nn.LayerNorm):
                if leaf == 'weight':
                    p.copy_(LN_W[0] + (LN_W[1] - LN_W[0]) * torch.rand(p.shape, generator=gen))
                else:
                    p.copy_(torch.randn(p.shape, generator=gen) * 0.2)
            elif name.endswith('mlp.fc1.bias'):
                p.copy_(GELU_SHIFT + torch.randn(p.shape, generator=gen) * 0.3)
            elif leaf == 'bias':
                p.copy_(torch.randn(p.shape, generator=gen) * (0.01 if 'blocks' in name or
                                                                 'patch' in name else 0.1))
            else:  # conv / linear weight
                fan_in = p[0].numel()
                small = name.endswith(('attn.proj.weight', 'mlp.fc2.weight', 'proj.weight'))
                p.copy_(torch.randn(p.shape, generator=gen) / fan_in ** 0.5 *
                        (EMBED_STD if small else 1.0))


def outputs_with(model, x, ln_eps=None, gelu_tanh=False):
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


def grad_noise(model, x, target):
    """Worst per-tensor max |g32 - g64| / max |g64| of timm's own gradients."""
    m64 = copy.deepcopy(model).double()
    m64.zero_grad()
    (m64(x.double()) * target.double()).sum().backward()
    g64 = dict(m64.named_parameters())
    return max(rel(p.grad.double(), g64[k].grad) for k, p in model.named_parameters())


def make(name, cls, kwargs, ckpt_size, commit):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    if ckpt_size is None:
        model = cls(**kwargs)
        randomize(model, gen)
        checkpoint = {k: v.detach().clone() for k, v in model.state_dict().items()}
    else:
        source = cls(**dict(kwargs, img_size=ckpt_size))
        randomize(source, gen)
        checkpoint = {k: v.detach().clone() for k, v in source.state_dict().items()}
        model = cls(**kwargs)
        model.load_state_dict(vt.checkpoint_filter_fn(dict(checkpoint), model))
    x = torch.randn((BATCH, 3, kwargs['img_size'], kwargs['img_size']),
                    generator=gen).half().float()  # exact in F16
    model.eval()
    with torch.no_grad():
        out = model(x)
        out64 = copy.deepcopy(model).double()(x.double()).float()
    target = torch.randn(out.shape, generator=gen)
    sens = {
        'layernorm_eps_1e-5': rel(outputs_with(model, x, ln_eps=1e-5), out),
        'gelu_tanh': rel(outputs_with(model, x, gelu_tanh=True), out),
        'timm_f32_vs_f64': rel(out, out64),
    }
    model.train()
    model.zero_grad()
    train_out = model(x)
    loss = (train_out * target).sum()
    loss.backward()
    sens['train_vs_eval'] = rel(train_out.detach(), out)
    sens['timm_grad_f32_vs_f64'] = grad_noise(model, x, target)
    io = {'input': x.half().numpy(), 'target': target.numpy(), 'logits': out.numpy(),
          'logits_f64': out64.numpy(), 'train_logits': train_out.detach().numpy(),
          'loss': loss.detach().reshape(1).numpy()}
    if ckpt_size is not None:
        io['pos_embed_resampled'] = model.pos_embed.detach().numpy()
    for k, p in model.named_parameters():
        io['grad.' + k] = p.grad.numpy()
    meta = {'timm_commit': commit, 'torch': torch.__version__, 'batch': BATCH,
            'class': cls.__name__, 'config': json.dumps(kwargs),
            'checkpoint_img_size': ckpt_size or kwargs['img_size'],
            'grad_mode': 'train, loss = sum(output * target)', 'sensitivity': json.dumps(sens)}
    write_safetensors(os.path.join(OUT, name + '.safetensors'),
                      {k: v.numpy() for k, v in checkpoint.items()}, meta)
    write_safetensors(os.path.join(OUT, name + '-io.safetensors'), io, meta)
    print(name, 'params', sum(p.numel() for p in model.parameters()), 'sensitivity', sens)


def main():
    os.makedirs(OUT, exist_ok=True)
    commit = timm_commit()
    torch.set_num_threads(1)
    for name, (cls, kwargs, ckpt_size) in CONFIGS.items():
        make(name, cls, kwargs, ckpt_size, commit)


if __name__ == '__main__':
    main()
