"""Writes test/pipeline/scheduler_goldens.ts: reference trajectories of diffusers 0.31.0's DDPM / DDIM / LCM schedulers for
test/pipeline/scheduler_reference.test.ts.

It runs the schedulers' own source files, unmodified, from a diffusers v0.31.0 checkout:
    python3 tools/reference/scheduler_goldens.py <diffusers-v0.31.0>/src/diffusers/schedulers \
        > test/pipeline/scheduler_goldens.ts
with torch (Debian's python3-torch 1.13.1 was used) and numpy. The rest of diffusers
(ConfigMixin, BaseOutput, randn_tensor, the hub mixins) is replaced by the small shim
below: config registration, an output dataclass, and a randn_tensor that returns the
noise vectors given here, so the engine's test can feed the same noise.
"""
import dataclasses, enum, functools, importlib.util, inspect, json, sys, types

import numpy as np
import torch

src = sys.argv[1]

# ---- shim of the diffusers package around the three scheduler files -------------------
pkg = types.ModuleType('diffusers'); pkg.__path__ = []
sched_pkg = types.ModuleType('diffusers.schedulers'); sched_pkg.__path__ = []
cfg = types.ModuleType('diffusers.configuration_utils')
utils = types.ModuleType('diffusers.utils'); utils.__path__ = []
torch_utils = types.ModuleType('diffusers.utils.torch_utils')
sched_utils = types.ModuleType('diffusers.schedulers.scheduling_utils')


class Config(dict):
    __getattr__ = dict.__getitem__


class ConfigMixin:
    pass


def register_to_config(init):
    sig = inspect.signature(init)

    @functools.wraps(init)
    def wrapped(self, *args, **kwargs):
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        self.config = Config({k: v for k, v in bound.arguments.items() if k != 'self'})
        init(self, *args, **kwargs)
    return wrapped


cfg.ConfigMixin, cfg.register_to_config = ConfigMixin, register_to_config


class BaseOutput:
    pass


class _Logger:
    def warning(self, *a, **k): pass
    warn = info = debug = warning


utils.BaseOutput = BaseOutput
utils.logging = types.SimpleNamespace(get_logger=lambda name: _Logger())
NOISE = []  # the noise each randn_tensor call returns, in order


def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
    return torch.tensor(NOISE.pop(0), dtype=dtype).reshape(shape)


torch_utils.randn_tensor = randn_tensor
sched_utils.SchedulerMixin = type('SchedulerMixin', (), {})
sched_utils.KarrasDiffusionSchedulers = enum.Enum('KarrasDiffusionSchedulers', 'DDIMScheduler')
for m in [pkg, sched_pkg, cfg, utils, torch_utils, sched_utils]:
    sys.modules[m.__name__] = m


# torch.linspace: this Debian build of torch 1.13 vectorises it with float32 rounding that
# differs from the pip builds' at 272 of SD's 1000 betas (the pip builds' values are the
# ones ../shared/fixtures recorded from the real pipelines, and they follow torch's scalar
# formula below). The scalar formula stands in, so the numbers test the schedulers' step
# and timestep code, not one build's linspace rounding.
_linspace = torch.linspace


def linspace(start, end, steps, dtype=None, **kw):
    if dtype is not torch.float32:
        return _linspace(start, end, steps, dtype=dtype, **kw)
    f = np.float32
    s, e = f(start), f(end)
    step = f(f(e - s) / f(steps - 1)) if steps > 1 else f(0)
    half = steps // 2
    v = [f(s + f(step * f(i))) if i < half else f(e - f(step * f(steps - i - 1))) for i in range(steps)]
    return torch.tensor(np.array(v, dtype=np.float32))


torch.linspace = linspace


def load(name):
    spec = importlib.util.spec_from_file_location(f'diffusers.schedulers.{name}', f'{src}/{name}.py')
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


DDPM = load('scheduling_ddpm').DDPMScheduler
DDIM = load('scheduling_ddim').DDIMScheduler
LCM = load('scheduling_lcm').LCMScheduler

# ---- the cases ------------------------------------------------------------------------
SAMPLE = [1.0, -0.5, 0.25, 2.0, -1.5, 0.1]
OUTPUTS = [[round(float(np.sin(1 + k + 7 * i)), 4) for k in range(6)] for i in range(4)]
NOISES = [[round(float(np.cos(2 + 3 * k + 5 * i)), 4) for k in range(6)] for i in range(4)]
SD = dict(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear')
CASES = [
    ('DDPMScheduler', DDPM, dict(SD, clip_sample=False, timestep_spacing='leading', steps_offset=1), dict(num_inference_steps=4)),
    ('DDPMScheduler', DDPM, dict(SD, prediction_type='v_prediction', variance_type='fixed_large', timestep_spacing='trailing'), dict(num_inference_steps=3)),
    ('DDPMScheduler', DDPM, dict(SD, clip_sample=False, prediction_type='sample', timestep_spacing='linspace'), dict(num_inference_steps=4)),
    ('DDPMScheduler', DDPM, dict(SD, clip_sample=False), dict(timesteps=[999, 499, 99])),
    ('DDIMScheduler', DDIM, dict(SD, clip_sample=False, set_alpha_to_one=False, steps_offset=1), dict(num_inference_steps=4)),
    ('DDIMScheduler', DDIM, dict(SD, prediction_type='v_prediction', timestep_spacing='trailing', clip_sample=False), dict(num_inference_steps=3)),
    ('DDIMScheduler', DDIM, dict(beta_schedule='linear', clip_sample=True, clip_sample_range=0.5, timestep_spacing='linspace'), dict(num_inference_steps=4)),
    ('LCMScheduler', LCM, dict(SD), dict(num_inference_steps=4)),
    ('LCMScheduler', LCM, dict(SD, set_alpha_to_one=False), dict(timesteps=[999, 759, 499, 259])),
    ('LCMScheduler', LCM, dict(SD, prediction_type='v_prediction'), dict(timesteps=[399])),
]

out = []
for name, cls, config, steps in CASES:
    s = cls(**config)
    s.set_timesteps(**steps)
    x = torch.tensor([SAMPLE], dtype=torch.float32)  # (1, 6): DDPM reads shape[1]
    rec = dict(className=name, config=config, **({'timesteps': steps['timesteps']} if 'timesteps' in steps else {'steps': steps['num_inference_steps']}),
               got_timesteps=[int(t) for t in s.timesteps], prev=[], x0=[])
    for i, t in enumerate(s.timesteps):
        NOISE[:] = [NOISES[i]]
        r = s.step(torch.tensor([OUTPUTS[i]], dtype=torch.float32), t, x)
        x = r.prev_sample
        x0 = r.denoised if name == 'LCMScheduler' else r.pred_original_sample
        rec['prev'].append([float(v) for v in x.flatten().tolist()])
        rec['x0'].append([float(v) for v in x0.flatten().tolist()])
    out.append(rec)

# ---- printed as the TypeScript module the test imports ------------------------------------
def arr(a): return '[' + ', '.join(repr(v) for v in a) + ']'
def arr2(a): return '[' + ', '.join(arr(r) for r in a) + ']'


print(f"""// Reference trajectories printed by diffusers v0.31.0's own DDPMScheduler / DDIMScheduler /
// LCMScheduler code (torch {torch.__version__}, numpy {np.__version__}; the scheduler files unmodified, the rest of
// diffusers replaced by a small shim) with tools/reference/scheduler_goldens.py, which wrote this
// file. Never derived from the engine. Step i feeds OUTPUTS[i] as the model output and NOISES[i]
// as the step's randn_tensor draw.
export const SAMPLE = {arr(SAMPLE)};
export const OUTPUTS = {arr2(OUTPUTS)};
export const NOISES = {arr2(NOISES)};

export interface ReferenceCase {{
  className: string; config: Record<string, unknown>; steps?: number; timesteps?: number[];
  /** scheduler.timesteps after set_timesteps. */
  got_timesteps: number[];
  /** prev_sample after each step. */
  prev: number[][];
  /** pred_original_sample (LCM: denoised) of each step. */
  x0: number[][];
}}

export const CASES: ReferenceCase[] = [""")
for c in out:
    head = {k: c[k] for k in ['className', 'config'] + [k for k in ['steps', 'timesteps'] if k in c]}
    print(f"  {{\n    ...{json.dumps(head)},\n    got_timesteps: {json.dumps(c['got_timesteps'])},\n    prev: {arr2(c['prev'])},\n    x0: {arr2(c['x0'])},\n  }},")
print("];")
