// Every op builder; importing this module also registers every op with the executor.
// (Append one line per op module.)
export * from './binary.ts';
export * from './nag.ts';
export * from './conv2d.ts';
export * from './unary.ts';
export * from './geglu.ts';
export * from './matmul.ts';
export * from './softmax.ts';
export * from './layer_norm.ts';
export * from './rms_norm.ts';
export * from './group_norm.ts';
export * from './timestep_embedding.ts';
export * from './embedding.ts';
export * from './attention.ts';
export * from './upsample.ts';
export * from './copy.ts';
export * from './nasa.ts';
export * from './rope.ts';
