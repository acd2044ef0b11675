// Validate mode (ENGINE_VALIDATE=1): after a run, recompute every op node on the CPU
// from the GPU's own inputs to that node (src/ref, naive loops) and name the first node
// whose GPU result diverges. Planned without buffer reuse, so every value is readable.
import { EngineError } from '../errors.ts';
import { getOp, type ScalarValue } from '../ops/registry.ts';
import type { Node } from './graph.ts';
import type { Plan } from './plan.ts';

export interface Tolerance { atol: number; rtol: number }

export function toleranceFor(dtype: string): Tolerance {
  return dtype === 'f16' ? { atol: 2e-2, rtol: 2e-2 } : { atol: 1e-4, rtol: 1e-3 };
}

export async function validateRun(plan: Plan, read: (n: Node) => Promise<ArrayLike<number>>, scalar: ScalarValue): Promise<void> {
  let checked = 0, skipped = new Set<string>();
  for (const n of plan.order) {
    const def = getOp(n.op);
    if (!def.ref) {
      skipped.add(n.op);
      continue;
    }
    const ins = await Promise.all(n.inputs.map(async (i) => Float32Array.from(await read(i))));
    const want = await def.ref(n, ins, scalar);
    const got = await read(n);
    const { atol, rtol } = toleranceFor(n.dtype);
    let worst = -1, worstErr = 0;
    for (let i = 0; i < want.length; i++) {
      if (got[i] === want[i]) continue; // also equal infinities (masked logits)
      const err = Math.abs(got[i] - want[i]);
      const bad = !(err <= atol + rtol * Math.abs(want[i]));
      if (bad && (worst < 0 || err > worstErr || Number.isNaN(err))) {
        worst = i;
        worstErr = err;
      }
    }
    if (worst >= 0) {
      throw new EngineError(
        `validate: node ${n.label} (${n.op}) diverges from its CPU reference: at [${worst}] got ${got[worst]}, ` +
          `expected ${want[worst]} (|diff| ${worstErr}, atol ${atol}, rtol ${rtol})`,
      );
    }
    checked++;
  }
  if (process.env.ENGINE_VALIDATE_VERBOSE) {
    console.error(`validate: ${checked} nodes match their CPU reference${skipped.size ? `; no reference for ${[...skipped]}` : ''}`);
  }
}
