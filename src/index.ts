// The package entry (`import { loadPipeline } from 'nasa-engine'`): text-to-image pipelines,
// model ids from the Hugging Face cache, the device, and the error type every user mistake
// raises. Lower levels have their own entries: 'nasa-engine/models', '/graph', '/io',
// '/tokenizers'.
import { fileURLToPath } from 'node:url';

export * from './pipeline/index.ts';
export { EngineError } from './errors.ts';
export { Device, getDevice, type AdapterReport, type DeviceOptions } from './gpu/device.ts';
export { hubCacheDir, parseModelId, resolveCached, resolveModelArg, type HubOptions, type ModelRef, type ResolvedModel } from './io/hub.ts';
export { downloadModel, type DownloadOptions } from './io/hub_download.ts';
export { encodePng, floatImageToRgb, writePng } from './pipeline/png.ts';

/** The embedded tiny model shipped with the package (random weights: its images are noise). */
export const EMBEDDED_MODEL = fileURLToPath(new URL('../weights/default', import.meta.url));
