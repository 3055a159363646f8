// Command-line options of the benchmark scripts: node's parseArgs, plus `--help` (the script's usage, exit 0) and a
// one-line error with the usage for an unknown or malformed option (exit 2) instead of a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>>;

export function benchArgs<const O extends Options>(usage: string, options: O): Parsed<O> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false });
  } catch (e) {
    process.stderr.write(`${(e as Error).message.split('\n')[0]}\nusage: ${usage}\n`);
    process.exit(2);
  }
}
