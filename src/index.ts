// The package entry (`import { loadPipeline } from 'nasa-engine'`): text-to-image pipelines,
// model ids from the Hugging Face cache, the device, and the error type every user mistake
// raises. Lower levels have their own entries: 'nasa-engine/models', '/graph', '/io',
// '/tokenizers'.
export * from './pipeline/index.ts';
export { EngineError } from './errors.ts';
export { Device, getDevice, type AdapterReport, type DeviceOptions } from './gpu/device.ts';
export { hubCacheDir, parseModelId, resolveCached, resolveModelArg, type HubOptions, type ModelRef, type ResolvedModel } from './io/hub.ts';
export { downloadModel, type DownloadOptions } from './io/hub_download.ts';
export { encodePng, floatImageToRgb, writePng } from './pipeline/png.ts';
export { EMBEDDED_MODEL } from './pipeline/embedded.ts';
