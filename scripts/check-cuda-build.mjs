// Loads the addon built against a CUDA libtorch and checks what it reports on a machine without a GPU
// (scripts/test-trixie.sh cuda): CUDA compiled in but unavailable, NCCL compiled in, and a NCCL group
// that cannot be made is a JS error, not a crash.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cuda, dist, libtorchVersion } from '@tsyolo/torch';

const s = {
  libtorch: libtorchVersion(),
  cudaAvailable: cuda.isAvailable(),
  devices: cuda.deviceCount(),
  nccl: dist.ProcessGroup.hasNccl(),
};
console.log('loaded:', JSON.stringify(s));
if (s.cudaAvailable || s.devices !== 0) throw new Error('expected no CUDA device here');
if (!s.nccl) throw new Error('expected ProcessGroupNCCL in a build against a CUDA libtorch with NCCL headers');

const dir = mkdtempSync(join(tmpdir(), 'tsyolo-nccl-'));
let message = '';
try {
  dist.ProcessGroup.create('nccl', dist.Store.file(join(dir, 'store'), 1), 0, 1);
} catch (e) {
  message = e instanceof Error ? e.message : String(e);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log('NCCL group without a GPU:', message);
if (!/^ProcessGroupNCCL: /.test(message)) throw new Error('expected a JS error from ProcessGroupNCCL');
