# Writes the Pillow goldens of test/eval/: resize_golden.json (PIL's bicubic resize, what
# CLIPImageProcessor runs, of a few seeded random RGB images) and jpeg_golden.json (JPEG files
# of a smooth seeded image at 4:2:0 / 4:2:2 / 4:4:4 / progressive, and PIL's decoding of them).
# Needs Pillow:  python3 tools/make-eval-goldens.py
import base64, io, json, random
import PIL
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
    json.dump({'generator': 'tools/make-eval-goldens.py', 'pillow': PIL.__version__, 'cases': cases}, f, separators=(',', ':'))

# smooth colour content (upscaled noise) at an odd size, so chroma edges and padding matter
base = Image.frombytes('RGB', (10, 8), bytes(random.randrange(256) for _ in range(10 * 8 * 3))).resize((37, 29), Image.BICUBIC)
jpegs = []
for name, kw in [('420', dict(subsampling=2)), ('422', dict(subsampling=1)), ('444', dict(subsampling=0)), ('progressive', dict(subsampling=2, progressive=True))]:
    buf = io.BytesIO()
    base.save(buf, format='JPEG', quality=85, **kw)
    dec = Image.open(io.BytesIO(buf.getvalue())).convert('RGB')
    jpegs.append({'name': name, 'jpeg_base64': base64.b64encode(buf.getvalue()).decode(), 'width': dec.width, 'height': dec.height, 'rgb': list(dec.tobytes())})
with open('test/eval/jpeg_golden.json', 'w') as f:
    json.dump({'generator': 'tools/make-eval-goldens.py', 'pillow': PIL.__version__, 'cases': jpegs}, f, separators=(',', ':'))
