#!/usr/bin/env node
// The `webtrain` command: runs the CLI built into dist/cli.js (src/cli/main.ts).
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('dist')) throw e;
  console.error('webtrain: dist/cli.js is missing; build it first with `npm run build`');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
