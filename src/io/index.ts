// Weights on disk (`nasa-engine/io`): the streaming safetensors reader/writer, diffusers
// folders and single-file checkpoints opened as one ModelSource, conversion between them,
// and model ids resolved from / downloaded into the Hugging Face hub cache.
export { SafetensorsReader, SafetensorsWriter, type WeightSource } from './safetensors.ts';
export { openModel, type ModelSource, type OpenModelOptions } from './open.ts';
export { openComponent, openPipeline, type Component, type Pipeline } from './folder.ts';
export { convert, type ConvertOptions, type ConvertReport } from './convert.ts';
export { FileStore, UnionStore, type WeightStore } from './store.ts';
export { readHostTensor, writeHostTensors, type HostTensor } from './host.ts';
export { hubCacheDir, parseModelId, repoCacheDir, resolveCached, resolveModelArg, type HubOptions, type ModelRef, type ResolvedModel } from './hub.ts';
export { downloadModel, type DownloadOptions } from './hub_download.ts';
