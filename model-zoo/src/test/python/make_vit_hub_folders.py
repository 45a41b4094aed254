#!/usr/bin/env python3
"""A check made once by hand (its files are not committed: 85-90 MB each): real-size timm models
with random weights, saved as Hugging Face Hub folders with timm's own save_config_for_hf
(config.json) and model.safetensors, plus io.bin (an input and timm's logits), into /tmp/hub-real:
vit_small_patch16_224 (augreg, 1000 label names), deit_small_distilled_patch16_224, the headless
vit_small_patch16_224.dino, and vit_small_patch16_384 whose checkpoint is used at 224 pixels
(timm's checkpoint_filter_fn resampling its pos_embed). Load each folder through the zoo's Criteria
with weights=<folder> (and imageSize=224 for the last) and compare the logits with io.bin.

    PYTHONPATH=/tmp/timm /usr/bin/python3 model-zoo/src/test/python/make_vit_hub_folders.py
"""
import json
import os
import sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_vit_fixtures as mk  # torchvision stub, writer, randomize
import torch, timm
from timm.models._hub import save_config_for_hf
import timm.models.vision_transformer as vt
from pathlib import Path
torch.set_num_threads(2)
OUT = Path('/tmp/hub-real')
OUT.mkdir(exist_ok=True)
def folder(name, model, ckpt_model=None, label_names=None):
    d = OUT / name; d.mkdir(exist_ok=True)
    src = ckpt_model or model
    state = {k: v.detach().numpy() for k, v in src.state_dict().items()}
    mk.write_safetensors(str(d / 'model.safetensors'), state, {'format': 'pt'})
    cfg = {}
    if label_names: cfg['label_names'] = label_names
    save_config_for_hf(src, d / 'config.json', model_config=cfg)
    gen = torch.Generator().manual_seed(5)
    s = model.pretrained_cfg['input_size'][1] if ckpt_model is None else model.patch_embed.img_size[0]
    x = torch.randn((2, 3, s, s), generator=gen).half().float()
    model.eval()
    with torch.no_grad():
        y = model(x)
    mk.write_safetensors(str(d / 'io.bin'), {'input': x.numpy(), 'logits': y.numpy()}, {'size': s})
    print(name, tuple(y.shape), json.load(open(d / 'config.json'))['architecture'])

for name, nc in [('vit_small_patch16_224.augreg_in21k_ft_in1k', None), ('deit_small_distilled_patch16_224.fb_in1k', None), ('vit_small_patch16_224.dino', None)]:
    torch.manual_seed(0)
    m = timm.create_model(name, pretrained=False)
    mk.randomize(m, torch.Generator().manual_seed(1))
    folder(name.replace('.', '-'), m, label_names=['c%d' % i for i in range(m.num_classes)] if m.num_classes else None)
# a 384 checkpoint used at 224
torch.manual_seed(0)
big = timm.create_model('vit_small_patch16_384.augreg_in21k_ft_in1k', pretrained=False)
mk.randomize(big, torch.Generator().manual_seed(2))
small = timm.create_model('vit_small_patch16_384.augreg_in21k_ft_in1k', pretrained=False, img_size=224)
small.load_state_dict(vt.checkpoint_filter_fn(big.state_dict(), small))
folder('vit_small_patch16_384-at224', small, ckpt_model=big)
