// Prints the compiler/linker flags for the libtorch the addon builds against.
// LIBTORCH=/path selects any libtorch (a CUDA build, or `python -c "import torch; print(torch.__path__[0])"`);
// otherwise Debian's libtorch-dev under /usr is used.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = process.env.LIBTORCH || '';
const multiarch = '/usr/lib/x86_64-linux-gnu';

function libDir() {
  if (root) return join(root, 'lib');
  return existsSync(join(multiarch, 'libtorch.so')) ? multiarch : '/usr/lib';
}

function includeDirs() {
  const base = root ? join(root, 'include') : '/usr/include';
  return [base, join(base, 'torch/csrc/api/include')];
}

// The C++ ABI must match the one libtorch was built with.
function cxx11Abi() {
  const candidates = root
    ? [join(root, 'share/cmake/Torch/TorchConfig.cmake')]
    : [join(libDir(), 'cmake/Torch/TorchConfig.cmake')];
  for (const f of candidates) {
    if (!existsSync(f)) continue;
    const m = /_GLIBCXX_USE_CXX11_ABI=(\d)/.exec(readFileSync(f, 'utf8'));
    if (m) return m[1];
  }
  try {
    const syms = execFileSync('nm', ['-DC', join(libDir(), 'libc10.so')], { encoding: 'utf8', maxBuffer: 1 << 28 });
    return syms.includes('std::__cxx11::') ? '1' : '0';
  } catch {
    return '1';
  }
}

function hasLib(name) {
  return readdirSync(libDir()).some((f) => f.startsWith(`lib${name}.so`));
}

const what = process.argv[2];
if (what === 'check') {
  if (!existsSync(join(includeDirs()[0], 'ATen/ATen.h')) || !hasLib('torch_cpu')) {
    console.error(`libtorch not found${root ? ` at LIBTORCH=${root}` : ''}. Install Debian's libtorch-dev, or set LIBTORCH=/path/to/libtorch.`);
    process.exit(1);
  }
  console.log(`libtorch: ${root || '/usr'} (lib ${libDir()}, CXX11 ABI ${cxx11Abi()}, cuda ${hasLib('torch_cuda')})`);
} else if (what === 'include') {
  console.log(includeDirs().join(' '));
} else if (what === 'defines') {
  const defs = [`_GLIBCXX_USE_CXX11_ABI=${cxx11Abi()}`];
  if (hasLib('torch_cuda')) defs.push('TSYOLO_WITH_CUDA=1');
  console.log(defs.join(' '));
} else if (what === 'libs') {
  const dir = libDir();
  const libs = [`-L${dir}`, `-Wl,-rpath,${dir}`, '-Wl,--no-as-needed', '-ltorch', '-ltorch_cpu', '-lc10'];
  if (hasLib('torch_cuda')) libs.push('-ltorch_cuda', '-lc10_cuda');
  libs.push('-Wl,--as-needed');
  console.log(libs.join(' '));
}
