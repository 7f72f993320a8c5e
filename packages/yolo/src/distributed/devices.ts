// --device as yolov5's select_device: '' (CUDA 0 when available, else the CPU), 'cpu', or CUDA
// ids '0', '0,1', '2,3' (a 'cuda:' prefix and spaces are allowed). The named devices and only
// they are used; one that does not exist, or any CUDA request on a CPU-only libtorch, is an error.
import { cuda } from '@tsyolo/torch';

export type DeviceSpec = { type: 'cpu' } | { type: 'cuda'; ids: number[] };

export function parseDevice(device: string, cudaCount = cuda.isAvailable() ? cuda.deviceCount() : 0): DeviceSpec {
  const s = device
    .trim()
    .toLowerCase()
    .replace(/^cuda:/, '')
    .replace(/\s+/g, '');
  if (s === 'cpu') return { type: 'cpu' };
  if (s === '') return cudaCount > 0 ? { type: 'cuda', ids: [0] } : { type: 'cpu' };
  if (!/^\d+(,\d+)*$/.test(s)) throw new Error(`--device ${device}: expected cpu, or CUDA device ids such as 0 or 0,1`);
  const ids = s.split(',').map(Number);
  if (new Set(ids).size !== ids.length) throw new Error(`--device ${device}: a device is named twice`);
  if (cudaCount === 0) {
    throw new Error(
      `--device ${device}: CUDA is not available (this libtorch is a CPU build, or no GPU is visible); use --device cpu, or build with LIBTORCH=/path/to/a/cuda/libtorch`,
    );
  }
  const bad = ids.filter((i) => i >= cudaCount);
  if (bad.length)
    throw new Error(
      `--device ${device}: no CUDA device ${bad.join(', ')} (this machine has ${cudaCount}: ${Array.from({ length: cudaCount }, (_, i) => i).join(', ')})`,
    );
  return { type: 'cuda', ids };
}

/** The device one rank uses: its local rank's entry of the list (so --device 2,3 trains on 2 and 3). */
export function rankDevice(spec: DeviceSpec, localRank: number): string {
  if (spec.type === 'cpu') return 'cpu';
  if (localRank >= spec.ids.length)
    throw new Error(`local rank ${localRank} has no device: --device names ${spec.ids.length} (${spec.ids.join(',')})`);
  return `cuda:${spec.ids[localRank]}`;
}

export function describeDevice(spec: DeviceSpec): string {
  return spec.type === 'cpu' ? 'CPU' : spec.ids.map((i) => `CUDA:${i}`).join(', ');
}

/** Parses --device for a command that runs on the CPU only for now: a CUDA request is an error saying so. */
export function requireCpu(device: string, command: string): DeviceSpec {
  const spec = parseDevice(device);
  if (spec.type === 'cuda')
    throw new Error(
      `--device ${device}: ${describeDevice(spec)} found, but tsyolo ${command} runs on the CPU only for now; use --device cpu`,
    );
  return spec;
}
