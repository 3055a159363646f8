// The irqdiff command line. Exit codes: 0 clean, 1 divergence found (or an expectation
// failed), 2 usage or input error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Backend } from '../backends/api.js';
import { supportsScenario } from '../backends/features.js';
import { runCampaign } from '../fuzz/campaign.js';
import { CLASS_LABEL, classify } from '../fuzz/classify.js';
import { rateAlarms } from '../fuzz/rates.js';
import { resolveTargets, TargetError, type Target } from '../fuzz/targets.js';
import { ScenarioError } from '../scenario/error.js';
import { shown } from '../scenario/sanitize.js';
import type { Scenario } from '../scenario/types.js';
import { checkWritableDir, checkWritableFile, OutputError, readScenarioFile, scenarioText, writeAtomic } from '../store/files.js';
import type { FuzzValues } from './campaign.js';
import { expectTarget, foundTarget } from './file-targets.js';
import { findingLine, printAlarms, tallyFindings } from './findings.js';
import { emphasis, jsonLine, useColor } from './output.js';
import { VERSION } from './version.js';

// The backends, the engine and the minimizer are imported by the commands that run them:
// `irqdiff --help` and `--version` then start in about the time node itself takes.
const allBackends = async (modules: string[]) => (await import('../backends/load.js')).allBackends(modules);
// Distributed campaigns (BullMQ, ioredis) load only with --queue or `worker`.
const distributed = () => import('./worker.js');
const wantsQueue = (argv: string[]): boolean => argv.some((a) => a === '--queue' || a.startsWith('--queue='));

export class UsageError extends Error {}

const HELP: Record<string, string> = {
  main: `irqdiff — differential fuzzer for virtual interrupt delivery in hypervisors

usage: irqdiff <command> [options]

commands:
  fuzz            generate interleavings, run them on every backend variant, minimize and
                  write new divergences to crashes/
  run, replay     replay scenario files with a step-by-step trace (--check: verify expectations)
  minimize        shrink a divergent scenario, keeping its signature
  list-backends   the backends, their variants and the commits they model
  real            replay scenarios as a real guest under QEMU (KVM or TCG)
  real-fuzz       fuzz real hypervisors through the guest test kernel
  triage          terminal UI to inspect findings and promote them to the corpus
  worker          run units of a campaign spread over machines (fuzz --queue URL coordinates it)
  export          a reproducer as scenario JSON, a vitest test, a lane diagram or a C test
  report          a campaign directory as one self-contained HTML page

  explore         enumerate every small interleaving: the shortest one per root cause
  new-backend     write a skeleton backend module (TypeScript) to model your own hypervisor

'irqdiff <command> --help' describes each; --version prints the version. Exit codes: 0 clean, 1 divergence (fuzz: a new UNEXPECTED root cause), 2 usage/input error.`,
  fuzz: `usage: irqdiff fuzz [--backend NAME[/VARIANT]]... [--time 30s|10m|8h] [--iterations N] [--seed N]
                   [--out DIR] [--corpus DIR] [--workers N] [--max-events N] [--resume] [--guided]
                   [--coverage] [--tui] [--json] [--backend-module FILE]...

Runs a campaign on the named backend variants (default: every variant of every hypervisor
backend) for --time (default 30s, unless --iterations is given) and/or --iterations (total
over workers) with --workers threads (default: all cores; --jobs is the old name).
Every random choice derives from --seed (default 1). The default engine draws every
interleaving fresh from the generator (--random); --guided lets runs that reach new
model-state coverage join a corpus that is mutated and extended (faster on the rare races, e.g.
the nested EOI-exit-bitmap race ~8x; a tie on the quick bugs; rate jumps are judged only for the generator alone). Findings are bucketed by root cause
(<backend>/<variant>:<class>:<tag>); each new one is minimized and written atomically to
--out (default crashes/) as <backend>/<variant>/<class>-<hash>.json and labelled: documented
bug, documented deviation, in corpus (a reproducer under --corpus, default corpus/, expects
it), or UNEXPECTED — the ones to read. A documented cause seen far more often than its
recorded rate is reported too (RATE JUMP). A backend that throws is a crash finding.
--out is the campaign directory: campaign.json (resume point and buckets), stats.ndjson,
queue-<worker>.ndjson. A run with the same settings continues it; --resume continues it with
its saved settings; other settings are refused. SIGINT/SIGTERM save and stop. Same seed,
workers and --iterations give byte-identical reproducers. --coverage prints the transitions,
states and hypervisor steps exercised per variant, and the steps never exercised.
--tui shows a live dashboard instead of log lines (on a terminal; piped, plain status lines).
--json: NDJSON (start, progress, finding, done objects). NO_COLOR=1 turns colour off.
Exit: 1 when the run found a new UNEXPECTED root cause or a rate jump, else 0
(documented findings and findings already in --out do not fail a run).
With --queue redis://...: one campaign over many machines (irqdiff fuzz --queue URL --help).`,
  'new-backend': `usage: irqdiff new-backend NAME [--out FILE]

Writes a skeleton backend module (default NAME.ts; never overwrites) that imports the Backend API
from the package ('irqdiff') and delegates to the bare-metal model, so it loads and runs clean at
once. Replace the delegation with your hypervisor's mechanism (docs/writing-a-backend.md) and run
it with --backend-module FILE: .ts modules are compiled on load, and the export and one instance
are checked with a clear error naming the field.`,
  run: `usage: irqdiff run FILE... [--backend NAME/VARIANT]... [--check] [--json] [--backend-module FILE]...

Replays each scenario and prints a step-by-step trace: every event, the hypervisor steps and
guest observations it caused, and per vCPU the reference's and the backend's IRR/ISR/PPR,
with the first divergence marked '>>>'. Without --backend it runs the variant a finding
names, or every variant in the file's "expect" map, or every hypervisor variant.
--check: no trace; for every "backend/variant" in each file's "expect" map, run it and
compare (clean, or the exact divergence signature). Every file is checked; one that cannot be
read or names a backend variant that is not loaded is marked BAD. Exit 0 if every expectation
holds, 1 if one failed, 2 if any input was bad.
--json: one JSON object per line (per file and variant: the outcome and its root causes;
with --check: each expectation and a summary) instead of the text.`,
  minimize: `usage: irqdiff minimize FILE --backend NAME/VARIANT [--signature SIG] [--out FILE]

Shrinks FILE while its run on the variant keeps the same primary divergence signature
(default: the signature it has now). Writes the result to --out, or prints it.`,
  triage: `usage: irqdiff triage [DIR] [--corpus DIR] [--list | --json] [--backend-module FILE]...

The triage screen: the root causes found in DIR (default crashes/), UNEXPECTED first, with
label, variant, kind, count, first/last seen and triage status (kept in DIR/triage.state);
Enter opens the reproducer (per-vCPU lanes, reference vs backend registers, the divergence).
'?' on the screen lists the keys. Without a terminal, or with --list, it prints the list;
--json prints one JSON object per root cause.`,
  export: `usage: irqdiff export FILE --format json|vitest|lanes|c [--backend NAME/VARIANT] [--out FILE]

Exports a reproducer (default variant: the one its "found" names): json, the scenario file;
vitest, a regression test asserting its outcome; lanes, a per-vCPU lane diagram of at most 72
columns for a commit message or a mailing list; c, a standalone C test in the style of
kvm-unit-tests x86/apic.c (guest instructions; hypervisor steps as comments).`,
  report: `usage: irqdiff report [DIR] [--out FILE] [--corpus DIR]

Writes one self-contained HTML page (inline SVG, no scripts, no network) picturing the
campaign in DIR (default crashes/): root causes by label, a per-variant table, and each
UNEXPECTED or documented-bug root cause with its lane diagram. Default --out DIR/report.html.`,
  'list-backends': `usage: irqdiff list-backends [--verbose] [--json] [--backend-module FILE]...

Lists every backend and variant, one line each: status, the commit it models, its documented
bugs and deviations grouped by class. --verbose adds the source read and why each cause
happens; --json prints everything as one JSON array.`,
};

const COMMON: ParseArgsConfig['options'] = {
  help: { type: 'boolean', short: 'h' },
  'backend-module': { type: 'string', multiple: true },
};

function args(argv: string[], options: ParseArgsConfig['options']) {
  try {
    return parseArgs({ args: argv, options: { ...COMMON, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function pickTargetsForFile(file: string, s: Scenario, backends: Backend[], filters: string[]): Target[] {
  if (filters.length > 0) return resolveTargets(backends, filters);
  if (s.found) return [foundTarget(file, backends, s.found)];
  if (s.expect && Object.keys(s.expect).length > 0) return Object.keys(s.expect).map((k) => expectTarget(file, backends, k));
  return resolveTargets(backends, []).filter((t) => supportsScenario(t.backend, s, t.variant) === null);
}

async function cmdRun(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { backend: { type: 'string', multiple: true }, check: { type: 'boolean' }, json: { type: 'boolean' } });
  if (a.values.help) { out(HELP.run!); return 0; }
  if (a.positionals.length === 0) throw new UsageError('run: give at least one scenario FILE');
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  if (a.values.check) return (await import('./check.js')).checkFiles(a.positionals, backends, out, a.values.json === true);
  if (a.values.json) return (await import('./json-run.js')).runJson(a.positionals, backends, (a.values.backend as string[] | undefined) ?? [], pickTargetsForFile, out);
  const { traceScenario } = await import('./trace.js');
  let divergent = false;
  for (const file of a.positionals) {
    const s = readScenarioFile(file);
    for (const t of pickTargetsForFile(file, s, backends, (a.values.backend as string[] | undefined) ?? [])) {
      const unsupported = supportsScenario(t.backend, s, t.variant);
      if (unsupported) { out(`== ${t.backend.name}/${t.variant}: skipped (${unsupported})`); continue; }
      const r = traceScenario(s, t.backend, t.variant, out);
      if (r.primary) divergent = true;
      out('');
    }
  }
  return divergent ? 1 : 0;
}

async function cmdFuzz(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, {
    backend: { type: 'string', multiple: true }, time: { type: 'string' }, seed: { type: 'string' },
    out: { type: 'string' }, corpus: { type: 'string' }, jobs: { type: 'string' }, 'max-events': { type: 'string' }, tui: { type: 'boolean' },
    json: { type: 'boolean' },
    workers: { type: 'string' }, iterations: { type: 'string' }, resume: { type: 'boolean' }, random: { type: 'boolean' }, guided: { type: 'boolean' }, coverage: { type: 'boolean' },
  });
  if (a.values.help) { out(HELP.fuzz!); return 0; }
  if (a.positionals.length > 0) throw new UsageError(`fuzz: unexpected argument '${a.positionals[0]}'`);
  const { checkResume, epilogue, planCampaign } = await import('./campaign.js');
  const plan = planCampaign(a.values as FuzzValues, (m) => new UsageError(m));
  const { modules, filters, seconds, workers: jobs, maxEvents, seed, out: outDir } = plan;
  const backends = await allBackends(modules);
  const targets = resolveTargets(backends, filters);
  if (targets.length === 0) throw new UsageError('fuzz: no backend variant to run');
  checkResume(plan, targets); // a mismatched campaign is refused before anything is written
  const corpus = (await import('../store/corpus.js')).corpusSignatures((a.values.corpus as string | undefined) ?? 'corpus');
  checkWritableDir(outDir); // now, not at the first finding or the first progress save
  const budget = [Number.isFinite(seconds) ? `${seconds}s` : '', plan.iterations !== undefined ? `${plan.iterations} iterations` : ''].filter(Boolean).join(' or ');
  const title = `irqdiff fuzz: ${targets.length} variants (${targets.map((t) => `${t.backend.name}/${t.variant}`).join(', ')}), ${budget}, ${jobs} workers, seed ${seed}, ${plan.engine}, out ${outDir}/`;
  const json = a.values.json === true;
  // --tui needs a terminal: piped or redirected, it falls back to the plain status lines.
  const tui = a.values.tui === true && !json && process.stdout.isTTY === true;
  if (a.values.tui && !tui && !json) out('(--tui needs a terminal: plain status lines follow)');
  const options = {
    filters, modules, seed, seconds, jobs, out: outDir, maxEvents, reportEveryMs: tui ? 500 : 5000,
    iterations: plan.iterations, engine: plan.engine, targetKeys: targets.map((t) => `${t.backend.name}/${t.variant}`), track: a.values.coverage === true, handleSignals: true,
  };
  const emph = (t: string) => emphasis(t, useColor(process.stdout));
  let summary;
  if (json) {
    out(jsonLine({ type: 'start', targets: targets.map((t) => `${t.backend.name}/${t.variant}`), seconds, jobs, seed, out: outDir }));
    summary = await runCampaign(options, (e) => {
      if (e.kind === 'finding') out(jsonLine({ type: 'finding', signature: e.signature, class: classify(backends, e.signature!, corpus), path: e.path, text: e.text }));
      else if (e.kind === 'warning') out(jsonLine({ type: 'warning', text: e.text }));
      else out(jsonLine({ type: 'progress', elapsed: e.elapsedSeconds, scenarios: e.summary?.scenarios, events: e.summary?.events, divergent: e.summary?.divergent }));
    });
  } else if (tui) {
    if (process.env.NO_COLOR && !process.env.FORCE_COLOR) process.env.FORCE_COLOR = '0'; // chalk reads it on import
    const { runDashboard } = await import('../tui/run.js');
    summary = await runDashboard(title, options, (sig) => CLASS_LABEL[classify(backends, sig, corpus)].trim());
  } else {
    out(title);
    summary = await runCampaign(options, (e) => {
      if (e.kind === 'finding') out(findingLine(backends, corpus, e.signature!, e.text, e.path ?? '', emph));
      else out(e.kind === 'warning' ? `warning: ${shown(e.text, 1000)}` : e.text);
    });
  }
  if (!json && summary.resumedFrom.some((x) => x > 0)) out(`(resumed at iterations ${summary.resumedFrom.join(', ')})`);
  const secs = summary.elapsedMs / 1000;
  const { classes, unexpected } = tallyFindings(backends, summary.newFindings, corpus);
  // Rates were recorded with the default generator: only comparable with its settings.
  const { DEFAULT_GEN } = await import('../gen/generator.js');
  // ... and with the generator alone: guided search changes how often each cause shows, so its feedback runs are
  // left out (summary.fresh counts the generator's own runs, all of them under the random engine).
  const alarms = maxEvents === DEFAULT_GEN.maxEvents ? rateAlarms(backends, summary.fresh.bySignature, summary.fresh.runs) : [];
  if (json) {
    out(jsonLine({ type: 'done', scenarios: summary.scenarios, events: summary.events, elapsedMs: summary.elapsedMs, divergent: summary.divergent,
      classes, perTarget: summary.perTarget, unexpected, rateJumps: alarms, resumedFrom: summary.resumedFrom }));
    return unexpected.length > 0 || alarms.length > 0 ? 1 : 0;
  }
  out(`done: ${summary.scenarios} interleavings, ${summary.events} events in ${secs.toFixed(1)}s (${Math.round(summary.events / secs)} events/s), ${summary.divergent} divergent; ${summary.newFindings.length} new root causes (${classes.unexpected} UNEXPECTED, ${classes.expected} documented bugs, ${classes.known} documented deviations, ${classes.corpus} in corpus)`);
  for (const [k, [sc, ev, dv]] of Object.entries(summary.perTarget)) out(`  ${k.padEnd(28)} ${String(sc).padStart(9)} interleavings ${String(ev).padStart(11)} events ${String(dv).padStart(8)} divergent`);
  printAlarms(alarms, unexpected, out, emph);
  epilogue(summary, plan, backends, a.values.coverage === true, out);
  if (unexpected.length > 0 || alarms.length > 0) out(`read them with: irqdiff triage ${outDir}`);
  return unexpected.length > 0 || alarms.length > 0 ? 1 : 0;
}

async function cmdNewBackend(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { out: { type: 'string' } });
  if (a.values.help) { out(HELP['new-backend']!); return 0; }
  if (a.positionals.length !== 1) throw new UsageError('new-backend: give exactly one NAME');
  const name = a.positionals[0]!;
  const file = (a.values.out as string | undefined) ?? `${name}.ts`;
  const { newBackend } = await import('./new-backend.js');
  try { newBackend(name, file); } catch (e) { if (e instanceof OutputError) throw e; throw new UsageError((e as Error).message); }
  out(`wrote ${shown(file, 300)}: run it with irqdiff fuzz --backend-module ${shown(file, 300)} --backend ${name}`);
  return 0;
}

async function cmdMinimize(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { backend: { type: 'string' }, signature: { type: 'string' }, out: { type: 'string' } });
  if (a.values.help) { out(HELP.minimize!); return 0; }
  if (a.positionals.length !== 1) throw new UsageError('minimize: give exactly one scenario FILE');
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  const { runScenario } = await import('../engine/session.js');
  const { minimize } = await import('../minimizer/minimize.js');
  const file = a.positionals[0]!;
  const outFile = a.values.out as string | undefined;
  const s = readScenarioFile(file);
  const given = a.values.backend as string | undefined;
  if (given !== undefined && !/^[^/]+\/[^/]+$/.test(given)) throw new UsageError('minimize: --backend NAME/VARIANT is required');
  const t = given !== undefined ? resolveTargets(backends, [given])[0]! : s.found ? foundTarget(file, backends, s.found) : undefined;
  if (!t) throw new UsageError('minimize: --backend NAME/VARIANT is required');
  const spec = `${t.backend.name}/${t.variant}`;
  const unsupported = supportsScenario(t.backend, s, t.variant);
  if (unsupported) throw new ScenarioError(file, '$.machine', `${spec} cannot run this machine (${unsupported}); expected a machine it supports`);
  // Minimizing can take minutes: learn now whether the result can be written.
  if (outFile !== undefined) checkWritableFile(outFile);
  const r = runScenario(s, t.backend, t.variant);
  const sig = (a.values.signature as string | undefined) ?? r.primary?.signature;
  if (!sig) { out(`minimize: ${shown(file, 300)} is clean on ${spec}; nothing to minimize`); return 0; }
  const m = minimize(s, t.backend, t.variant, sig);
  const result: Scenario = { ...m.scenario, name: s.name, description: s.description, source: s.source, found: s.found, expect: { [spec]: { signature: sig } } };
  const text = scenarioText(result);
  if (outFile !== undefined) { writeAtomic(outFile, text); out(`minimized ${m.before} → ${m.after} events in ${m.runs} runs: ${shown(outFile, 300)}`); }
  else out(text.trimEnd());
  return 1;
}

async function cmdList(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { verbose: { type: 'boolean', short: 'v' }, json: { type: 'boolean' } });
  if (a.values.help) { out(HELP['list-backends']!); return 0; }
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  const { listBackends } = await import('./list.js');
  listBackends(backends, a.values.verbose === true ? 'verbose' : a.values.json === true ? 'json' : 'concise', out);
  return 0;
}

async function cmdTriage(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { corpus: { type: 'string' }, json: { type: 'boolean' }, list: { type: 'boolean' } });
  if (a.values.help) { out(HELP.triage!); return 0; }
  if (a.positionals.length > 1) throw new UsageError('triage: at most one directory');
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  const dir = a.positionals[0] ?? 'crashes';
  const corpusDir = (a.values.corpus as string | undefined) ?? 'corpus';
  if (!(await import('node:fs')).existsSync(dir)) throw new UsageError(`triage: no directory ${JSON.stringify(shown(dir, 300))} (run irqdiff fuzz first, or give the campaign's --out)`);
  // Ink needs a terminal in raw mode: without one (a pipe, CI, a script) print the list.
  if (a.values.json || a.values.list || !process.stdin.isTTY || !process.stdout.isTTY) {
    const { printTriageList } = await import('../tui/list-text.js');
    printTriageList(dir, corpusDir, backends, a.values.json === true, out);
    return 0;
  }
  if (process.env.NO_COLOR && !process.env.FORCE_COLOR) process.env.FORCE_COLOR = '0'; // chalk reads it on import
  const { runTriage } = await import('../tui/run.js');
  await runTriage(dir, corpusDir, backends);
  return 0;
}

async function cmdExport(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { format: { type: 'string' }, backend: { type: 'string' }, out: { type: 'string' } });
  if (a.values.help) { out(HELP.export!); return 0; }
  if (a.positionals.length !== 1) throw new UsageError('export: give exactly one scenario FILE');
  if (a.values.format === undefined) throw new UsageError('export: --format json|vitest|lanes|c is required');
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  const { exportFile } = await import('./export.js');
  return exportFile(a.positionals[0]!, a.values.format as string, backends, a.values.backend as string | undefined, a.values.out as string | undefined, out);
}

async function cmdReport(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { out: { type: 'string' }, corpus: { type: 'string' } });
  if (a.values.help) { out(HELP.report!); return 0; }
  if (a.positionals.length > 1) throw new UsageError('report: at most one directory');
  const dir = a.positionals[0] ?? 'crashes';
  if (!(await import('node:fs')).existsSync(dir)) throw new UsageError(`report: no directory ${JSON.stringify(shown(dir, 300))}`);
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  const { writeReport } = await import('../report/html.js');
  const file = writeReport(dir, (a.values.corpus as string | undefined) ?? 'corpus', backends, a.values.out as string | undefined);
  out(`wrote ${shown(file, 300)}`);
  return 0;
}

async function cmdReal(cmd: string, argv: string[], out: (l: string) => void, err: (l: string) => void): Promise<number> {
  // Loaded lazily: the model commands never need QEMU.
  const { realMain } = await import('../real/main.js');
  const lines = (sink: (l: string) => void) => (s: string) => { for (const l of s.replace(/\n$/, '').split('\n')) sink(l); };
  return realMain([cmd, ...argv], lines(out), lines(err));
}

export async function main(argv: string[], out: (l: string) => void = (l) => console.log(l), err: (l: string) => void = (l) => console.error(l)): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case undefined: case '--help': case '-h': case 'help': out(HELP.main!); return cmd === undefined ? 2 : 0;
      case '--version': case '-V': case 'version': out(`irqdiff ${VERSION}`); return 0;
      case 'fuzz': return wantsQueue(rest) ? await (await distributed()).cmdFuzzQueue(rest, out) : await cmdFuzz(rest, out);
      case 'worker': return await (await distributed()).cmdWorker(rest, out, err);
      case 'run': case 'replay': return await cmdRun(rest, out);
      case 'minimize': return await cmdMinimize(rest, out);
      case 'list-backends': return await cmdList(rest, out);
      case 'triage': return await cmdTriage(rest, out);
      case 'export': return await cmdExport(rest, out);
      case 'report': return await cmdReport(rest, out);
      case 'new-backend': return await cmdNewBackend(rest, out);
      case 'explore': return await (await import('./explore.js')).cmdExplore(rest, out, (m) => new UsageError(m));
      case 'real': case 'real-fuzz': return await cmdReal(cmd, rest, out, err);
      default: throw new UsageError(`unknown command '${cmd}' (try irqdiff --help)`);
    }
  } catch (e) {
    // Bad input or unwritable output: one line (sanitized: it may quote a file), exit 2.
    const { BackendModuleError } = await import('../backends/load.js'); // already loaded if it threw one
    const distributedError = (cmd === 'worker' || wantsQueue(rest)) && (await distributed()).isDistributedError(e);
    if (e instanceof UsageError || e instanceof ScenarioError || e instanceof TargetError || e instanceof BackendModuleError || e instanceof OutputError || distributedError) {
      err(`irqdiff: ${shown(e.message, 2000)}`);
      return 2;
    }
    throw e;
  }
}
