#!/usr/bin/env node
// The `tsyolo` command (npm links it at install time, before the TypeScript is built, so it lives
// outside dist/): runs the CLI that `make build` compiles.
import('../dist/src/cli/main.js').catch((e) => {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('cli/main.js')) {
    console.error('tsyolo: the CLI is not built yet: run `make build` in the repository');
    process.exit(1);
  }
  throw e;
});
