// Bundle the jsfuzz target (entry.mjs + the compiled models) into one CommonJS file.
import { build } from 'esbuild';
await build({ entryPoints: [new URL('./entry.mjs', import.meta.url).pathname], bundle: true, platform: 'node', format: 'cjs', outfile: new URL('./target.cjs', import.meta.url).pathname, logLevel: 'warning' });
