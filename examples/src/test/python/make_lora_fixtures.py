#!/usr/bin/env python3
"""Writes the LoRA adapter fixture: timm's ViT with a PEFT-format LoRA adapter, and its logits.

PeftLoraFixtureTest loads the base weights into the zoo's vit_micro_patch4_32 (timm's names), puts
the adapter on with LoraModel.fromPretrained and compares the logits with the ones computed here
by timm's own VisionTransformer, the adapters added by forward hooks as PEFT's LoRA layers compute
them: y = base(x) + scaling * (x A^T) B^T (for a Conv2d, the patch embedding: A a convolution
with the base's kernel and stride, B a 1x1 convolution), scaling = lora_alpha / sqrt(r) (use_rslora), each
layer's r and lora_alpha from rank_pattern / alpha_pattern (the first key for which
re.match(r"(.*\\.)?(KEY)$", path) matches), targets as a PEFT list (a path equal to a name or
ending in "." + name), the head replaced as modules_to_save. The adapter is written as PEFT's
save_pretrained writes it: adapter_model.safetensors with keys base_model.model.<path>.lora_A.weight
(r x in), ...lora_B.weight (out x r) and base_model.model.head.weight / .bias, and an
adapter_config.json with the fields PEFT 0.17 writes.

PEFT itself is not needed (nor copied): the rules above are written from its documentation. timm is
imported from a checkout (Debian's torch 1.13 is enough; a stub stands in for torchvision):

    apt-get install -y python3-torch python3-numpy
    git clone https://github.com/huggingface/pytorch-image-models /tmp/timm   # or any checkout
    PYTHONPATH=/tmp/timm /usr/bin/python3 examples/src/test/python/make_lora_fixtures.py

run from the project root; it overwrites the files in
examples/src/test/resources/io/github/lbpdjl/examples/lora/. The base weights are drawn as
float16-representable values and stored as F16 (half the bytes; both sides compute in float32 from
the same values).
"""
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'model-zoo', 'src', 'test', 'python'))
import torchvision_stub  # noqa: E402

torchvision_stub.install()

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import timm.models.vision_transformer as vt  # noqa: E402

OUT = 'examples/src/test/resources/io/github/lbpdjl/examples/lora'

# the adapter's configuration, as a PEFT user would write it
R = 2
ALPHA = 3
TARGETS = ['qkv', 'fc1', 'proj']  # 'proj': every attn.proj and the Conv2d patch_embed.proj
RANK_PATTERN = {'fc1': 4}
ALPHA_PATTERN = {r'blocks\.1\.attn\.qkv': 5}
MODULES_TO_SAVE = ['head']


def timm_commit():
    path = os.path.dirname(os.path.dirname(vt.__file__))
    try:
        return subprocess.run(['git', '-C', path, 'rev-parse', 'HEAD'], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'


def write_safetensors(path, tensors, metadata):
    """Minimal safetensors writer: header length, JSON header, contiguous little-endian data."""
    codes = {np.dtype('float32'): 'F32', np.dtype('float16'): 'F16'}
    header = {'__metadata__': {k: str(v) for k, v in metadata.items()}}
    blobs = []
    offset = 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr)
        data = arr.astype(arr.dtype.newbyteorder('<')).tobytes()
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


def targeted(path):
    return any(path == t or path.endswith('.' + t) for t in TARGETS)


def pattern_value(pattern, path, default):
    for key, value in pattern.items():
        if re.match(r'(.*\.)?(' + key + r')$', path):
            return value
    return default


def main():
    torch.manual_seed(14)
    model = vt.VisionTransformer(img_size=32, patch_size=4, in_chans=1, num_classes=3,
                                 embed_dim=64, depth=4, num_heads=4, mlp_ratio=2.0)
    model.eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            scale = 1.0 if 'norm' in name and name.endswith('weight') else 0.2
            base = 1.0 if 'norm' in name and name.endswith('weight') else 0.0
            p.copy_((base + scale * torch.randn_like(p)).half().float())
    base_state = {k: v.detach().numpy().astype(np.float16) for k, v in model.state_dict().items()}

    gen = torch.Generator().manual_seed(15)
    x = torch.randn(2, 1, 32, 32, generator=gen)
    with torch.no_grad():
        base_logits = model(x)
    adapter = {}
    hooks = []
    for path, module in model.named_modules():
        if not isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)) or not targeted(path):
            continue
        r = pattern_value(RANK_PATTERN, path, R)
        alpha = pattern_value(ALPHA_PATTERN, path, ALPHA)
        scaling = alpha / r ** 0.5
        if isinstance(module, torch.nn.Conv2d):
            # PEFT's LoRA Conv2d: A a convolution like the base's, B a 1x1 convolution
            a = 0.3 * torch.randn(r, module.in_channels, *module.kernel_size, generator=gen)
            b = 0.3 * torch.randn(module.out_channels, r, 1, 1, generator=gen)

            def hook(mod, inputs, output, a=a, b=b, s=scaling):
                down = F.conv2d(inputs[0], a, None, mod.stride, mod.padding, mod.dilation)
                return output + s * F.conv2d(down, b)
        else:
            a = 0.3 * torch.randn(r, module.in_features, generator=gen)
            b = 0.3 * torch.randn(module.out_features, r, generator=gen)

            def hook(mod, inputs, output, a=a, b=b, s=scaling):
                return output + s * F.linear(F.linear(inputs[0], a), b)
        adapter['base_model.model.' + path + '.lora_A.weight'] = a.numpy()
        adapter['base_model.model.' + path + '.lora_B.weight'] = b.numpy()

        hooks.append(module.register_forward_hook(hook))
        print(f'{path}: r={r} alpha={alpha} scaling={scaling:.6f}')
    with torch.no_grad():
        head_w = 0.5 * torch.randn(3, 64, generator=gen)
        head_b = 0.5 * torch.randn(3, generator=gen)
        model.head.weight.copy_(head_w)
        model.head.bias.copy_(head_b)
        logits = model(x)
    adapter['base_model.model.head.weight'] = head_w.numpy()
    adapter['base_model.model.head.bias'] = head_b.numpy()

    config = {
        'alora_invocation_tokens': None, 'alpha_pattern': ALPHA_PATTERN, 'arrow_config': None,
        'auto_mapping': None, 'base_model_name_or_path': None, 'bias': 'none',
        'corda_config': None, 'ensure_weight_tying': False, 'eva_config': None,
        'exclude_modules': None, 'fan_in_fan_out': False, 'inference_mode': True,
        'init_lora_weights': True, 'layer_replication': None, 'layers_pattern': None,
        'layers_to_transform': None, 'loftq_config': {}, 'lora_alpha': ALPHA, 'lora_bias': False,
        'lora_dropout': 0.0, 'megatron_config': None, 'megatron_core': 'megatron.core',
        'modules_to_save': MODULES_TO_SAVE, 'peft_type': 'LORA', 'peft_version': '0.17.1',
        'qalora_group_size': 16, 'r': R, 'rank_pattern': RANK_PATTERN, 'revision': None,
        'target_modules': TARGETS, 'target_parameters': None, 'task_type': None,
        'trainable_token_indices': None, 'use_dora': False, 'use_qalora': False,
        'use_rslora': True,
    }
    os.makedirs(os.path.join(OUT, 'adapter'), exist_ok=True)
    meta = {'format': 'pt', 'timm_commit': timm_commit(), 'torch': torch.__version__}
    write_safetensors(os.path.join(OUT, 'vit_micro_patch4_32-base.safetensors'), base_state, meta)
    write_safetensors(os.path.join(OUT, 'adapter', 'adapter_model.safetensors'), adapter, meta)
    with open(os.path.join(OUT, 'adapter', 'adapter_config.json'), 'w') as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write('\n')
    write_safetensors(os.path.join(OUT, 'io.safetensors'),
                      {'input': x.numpy(), 'base_logits': base_logits.numpy(),
                       'logits': logits.numpy()}, meta)
    print('logits', logits.numpy())
    print('base logits', base_logits.numpy())


if __name__ == '__main__':
    main()
