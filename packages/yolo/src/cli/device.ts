// --device for val, detect and export: parsed as train's (so a missing device, or CUDA on a
// CPU-only libtorch, is the same clear error); these commands then run on the CPU.
import { describeDevice, parseDevice } from '../distributed/devices.js';

export function cpuOnlyDevice(device: string, command: string): void {
  const spec = parseDevice(device);
  if (spec.type === 'cuda') throw new Error(`--device ${device}: ${describeDevice(spec)} found, but tsyolo ${command} runs on the CPU only for now; use --device cpu`);
}
