#!/usr/bin/env node
// irqdiff command-line entry (the TypeScript sources are compiled to dist/ by `npm install`).
import { main } from '../dist/cli/main.js';

// `irqdiff run ... | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err) => { if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0); throw err; });

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exitCode = 2;
});
