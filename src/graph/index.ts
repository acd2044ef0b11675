// Graphs of ops (`nasa-engine/graph`): build a Graph with the op builders (re-exported from
// src/ops), compile it for a device with Executable.compile, run() it. build -> plan -> run.
export { Graph, type Float, type HostData, type Node } from './graph.ts';
export { plan, formatBytes, type Plan, type PlanOptions } from './plan.ts';
export { Executable, type CompileOptions, type HostArray, type RunInput } from './run.ts';
export { planFlops, nodeFlops } from './flops.ts';
export { toleranceFor, type Tolerance } from './validate.ts';
export * from '../ops/index.ts';
export { GpuTensor } from '../tensor/tensor.ts';
