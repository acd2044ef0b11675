# Writes test/eval/resize_golden.json: PIL's bicubic resize (what CLIPImageProcessor runs) of a
# few seeded random RGB images, for test/eval/preprocess.test.ts. Needs Pillow:
#   python3 tools/make-resize-golden.py
import json, random
from PIL import Image

random.seed(7)
cases = []
for (w, h, size) in [(13, 9, 5), (6, 5, 12), (40, 23, 8), (17, 31, 16)]:
    px = [random.randrange(256) for _ in range(w * h * 3)]
    im = Image.frombytes('RGB', (w, h), bytes(px))
    short, long = (w, h) if w <= h else (h, w)
    new_long = int(size * long / short)
    ow, oh = (size, new_long) if w <= h else (new_long, size)
    out = im.resize((ow, oh), resample=Image.BICUBIC, reducing_gap=None)
    cases.append({'width': w, 'height': h, 'shortest_edge': size, 'rgb': px, 'out_width': ow, 'out_height': oh, 'out_rgb': list(out.tobytes())})
with open('test/eval/resize_golden.json', 'w') as f:
    json.dump({'generator': 'tools/make-resize-golden.py', 'pillow': Image.__version__, 'cases': cases}, f, separators=(',', ':'))
