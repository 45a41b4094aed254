#!/usr/bin/env python3
"""Writes the resize fixtures: what Pillow's Image.resize makes of two random images.

timm's evaluation transform resizes a PIL image with Pillow (torchvision's Resize on a PIL image
calls Image.resize), so the zoo's Image -> Classifications path resamples as Pillow does
(io.github.lbpdjl.zoo.Resampling); ResamplingTest compares it with these outputs byte for byte.
The images are random bytes (Python's random.Random(0)): an RGB image of 61x47 and a greyscale one of 29x31,
each resized with NEAREST, BILINEAR and BICUBIC to smaller, larger and one-axis-only sizes.

To regenerate (Debian's python3-pil is enough), from the project root:

    apt-get install -y python3-pil
    /usr/bin/python3 model-zoo/src/test/python/make_resize_fixtures.py

It overwrites model-zoo/src/test/resources/io/github/lbpdjl/zoo/preprocessing/resize.json.
"""
import base64
import json
import os
import random

import PIL
from PIL import Image

OUT = 'model-zoo/src/test/resources/io/github/lbpdjl/zoo/preprocessing/resize.json'
FILTERS = {'nearest': Image.NEAREST, 'bilinear': Image.BILINEAR, 'bicubic': Image.BICUBIC}
# (width, height): both smaller, both larger, mixed, one axis only, a strong reduction
SIZES = [(23, 17), (79, 59), (30, 90), (61, 20), (100, 47), (7, 5), (8, 90)]


def b64(data):
    return base64.b64encode(data).decode('ascii')


def main():
    rng = random.Random(0)
    sources = {  # name: (mode, width, height), pixels row-major, channels interleaved
        'rgb': ('RGB', 61, 47),
        'grey': ('L', 29, 31),
    }
    doc = {'pillow': PIL.__version__, 'sources': [], 'cases': []}
    for name, (mode, width, height) in sources.items():
        channels = len(mode)
        pixels = bytes(rng.randrange(256) for _ in range(width * height * channels))
        image = Image.frombytes(mode, (width, height), pixels)
        doc['sources'].append({
            'name': name,
            'width': width,
            'height': height,
            'channels': channels,
            'pixels': b64(pixels),
        })
        for filt, code in FILTERS.items():
            for w, h in SIZES:
                out = image.resize((w, h), code).tobytes()
                doc['cases'].append({
                    'source': name, 'interpolation': filt, 'width': w, 'height': h,
                    'pixels': b64(out),
                })
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    print('wrote', OUT, len(doc['cases']), 'cases, Pillow', PIL.__version__)


if __name__ == '__main__':
    main()
