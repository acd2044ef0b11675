// `adapter`: what WebGPU adapter the engine finds, its features and the limits it raised.
import { Device } from '../gpu/device.ts';
import { parseArgs } from './args.ts';

export async function run(argv: string[]): Promise<void> {
  const { opts } = parseArgs('adapter', argv, {
    json: { type: 'boolean' }, backend: { type: 'string' }, 'adapter-name': { type: 'string' },
  });
  const dev = await Device.open({ backend: opts.backend as any, adapterName: opts['adapter-name'] as string | undefined });
  const a = dev.adapter;
  const info = {
    adapter: dev.adapterName, software: dev.isSoftware, features: a.features,
    deviceFeatures: [...dev.features], maxStorageBufferBindingSize: dev.limits.maxStorageBufferBindingSize,
    maxBufferSize: dev.limits.maxBufferSize, maxComputeWorkgroupStorageSize: dev.limits.maxComputeWorkgroupStorageSize,
    subgroupMatrixConfigs: a.subgroupMatrixConfigs,
  };
  if (opts.json) console.log(JSON.stringify(info));
  else {
    console.log(`adapter: ${info.adapter}${info.software ? ' (software)' : ''}`);
    console.log(`device features: ${info.deviceFeatures.join(', ')}`);
    console.log(`maxStorageBufferBindingSize: ${info.maxStorageBufferBindingSize}, maxBufferSize: ${info.maxBufferSize}`);
    console.log(`subgroup matrix configs: ${info.subgroupMatrixConfigs}`);
  }
  dev.destroy();
}
