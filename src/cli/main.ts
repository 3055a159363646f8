// The irqdiff command line. Exit codes: 0 clean, 1 divergence found (or an expectation
// failed), 2 usage or input error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Backend } from '../backends/api.js';
import { allBackends, BackendModuleError } from '../backends/load.js';
import { runScenario } from '../engine/session.js';
import { runCampaign } from '../fuzz/campaign.js';
import { CLASS_LABEL, classify, type Class } from '../fuzz/classify.js';
import { rateAlarms } from '../fuzz/rates.js';
import { DEFAULT_GEN } from '../gen/generator.js';
import { corpusSignatures } from '../store/corpus.js';
import { resolveTargets, TargetError, type Target } from '../fuzz/targets.js';
import { minimize } from '../minimizer/minimize.js';
import { ScenarioError } from '../scenario/error.js';
import { shown } from '../scenario/sanitize.js';
import type { Scenario } from '../scenario/types.js';
import { checkWritableDir, checkWritableFile, OutputError, readScenarioFile, scenarioText, writeAtomic } from '../store/files.js';
import { checkFiles } from './check.js';
import { cmdExplore } from './explore.js';
import { checkResume, epilogue, planCampaign, type FuzzValues } from './campaign.js';
import { expectTarget, foundTarget } from './file-targets.js';
import { traceScenario } from './trace.js';

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
  explore         enumerate every small interleaving: the shortest one per root cause

'irqdiff <command> --help' describes each. Exit codes: 0 clean, 1 divergence (fuzz: a new UNEXPECTED root cause), 2 usage/input error.`,
  fuzz: `usage: irqdiff fuzz [--backend NAME[/VARIANT]]... [--time 30s|10m|8h] [--iterations N] [--seed N]
                   [--out DIR] [--corpus DIR] [--workers N] [--max-events N] [--resume] [--random]
                   [--coverage] [--tui] [--backend-module FILE]...

Runs a campaign on the named backend variants (default: every variant of every hypervisor
backend) for --time (default 30s, unless --iterations is given) and/or --iterations (total
over workers) with --workers threads (default: all cores; --jobs is the old name).
Every random choice derives from --seed (default 1). The default engine is guided: runs that
reach new model-state coverage join a corpus that is mutated and extended; --random draws
every interleaving fresh from the generator. Findings are bucketed by root cause
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
--tui shows a live dashboard instead of log lines.
Exit: 1 when the run found a new UNEXPECTED root cause or a rate jump, else 0
(documented findings and findings already in --out do not fail a run).`,
  run: `usage: irqdiff run FILE... [--backend NAME/VARIANT]... [--check] [--backend-module FILE]...

Replays each scenario and prints a step-by-step trace: every event, the hypervisor steps and
guest observations it caused, and per vCPU the reference's and the backend's IRR/ISR/PPR,
with the first divergence marked '>>>'. Without --backend it runs the variant a finding
names, or every variant in the file's "expect" map, or every hypervisor variant.
--check: no trace; for every "backend/variant" in each file's "expect" map, run it and
compare (clean, or the exact divergence signature). Every file is checked; one that cannot be
read or names a backend variant that is not loaded is marked BAD. Exit 0 if every expectation
holds, 1 if one failed, 2 if any input was bad.`,
  minimize: `usage: irqdiff minimize FILE --backend NAME/VARIANT [--signature SIG] [--out FILE]

Shrinks FILE while its run on the variant keeps the same primary divergence signature
(default: the signature it has now). Writes the result to --out, or prints it.`,
  triage: `usage: irqdiff triage [DIR] [--corpus DIR] [--backend-module FILE]...

The triage screen: the findings in DIR (default crashes/), each with its step-by-step trace.
Keys: up/down select, j/k or PgUp/PgDn scroll the trace, p promote the reproducer into the
corpus (default corpus/) with its expected outcome on every variant of its backend, q quit.`,
  'list-backends': `usage: irqdiff list-backends [--backend-module FILE]...

Lists every backend and variant with the commit it models and its documented bugs.`,
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

function pickTargetsForFile(file: string, s: Scenario, backends: Backend[], filters: string[]): Target[] {
  if (filters.length > 0) return resolveTargets(backends, filters);
  if (s.found) return [foundTarget(file, backends, s.found)];
  if (s.expect && Object.keys(s.expect).length > 0) return Object.keys(s.expect).map((k) => expectTarget(file, backends, k));
  return resolveTargets(backends, []).filter((t) => t.backend.supports(s.machine) === null);
}

async function cmdRun(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { backend: { type: 'string', multiple: true }, check: { type: 'boolean' } });
  if (a.values.help) { out(HELP.run!); return 0; }
  if (a.positionals.length === 0) throw new UsageError('run: give at least one scenario FILE');
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  if (a.values.check) return checkFiles(a.positionals, backends, out);
  let divergent = false;
  for (const file of a.positionals) {
    const s = readScenarioFile(file);
    for (const t of pickTargetsForFile(file, s, backends, (a.values.backend as string[] | undefined) ?? [])) {
      const unsupported = t.backend.supports(s.machine);
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
    workers: { type: 'string' }, iterations: { type: 'string' }, resume: { type: 'boolean' }, random: { type: 'boolean' }, coverage: { type: 'boolean' },
  });
  if (a.values.help) { out(HELP.fuzz!); return 0; }
  if (a.positionals.length > 0) throw new UsageError(`fuzz: unexpected argument '${a.positionals[0]}'`);
  const plan = planCampaign(a.values as FuzzValues, (m) => new UsageError(m));
  const { modules, filters, seconds, workers: jobs, maxEvents, seed, out: outDir } = plan;
  const backends = await allBackends(modules);
  const targets = resolveTargets(backends, filters);
  if (targets.length === 0) throw new UsageError('fuzz: no backend variant to run');
  checkResume(plan, targets); // a mismatched campaign is refused before anything is written
  const corpus = corpusSignatures((a.values.corpus as string | undefined) ?? 'corpus');
  checkWritableDir(outDir); // now, not at the first finding or the first progress save
  const budget = [Number.isFinite(seconds) ? `${seconds}s` : '', plan.iterations !== undefined ? `${plan.iterations} iterations` : ''].filter(Boolean).join(' or ');
  const title = `irqdiff fuzz: ${targets.length} variants (${targets.map((t) => `${t.backend.name}/${t.variant}`).join(', ')}), ${budget}, ${jobs} workers, seed ${seed}, ${plan.engine}, out ${outDir}/`;
  const options = {
    filters, modules, seed, seconds, jobs, out: outDir, maxEvents, reportEveryMs: a.values.tui ? 500 : 5000,
    iterations: plan.iterations, engine: plan.engine, targetKeys: targets.map((t) => `${t.backend.name}/${t.variant}`), track: a.values.coverage === true, handleSignals: true,
  };
  const emph = (t: string) => (process.stdout.isTTY && !process.env.NO_COLOR ? `\x1b[1;31m${t}\x1b[0m` : t);
  let summary;
  if (a.values.tui) {
    const { runDashboard } = await import('../tui/run.js');
    summary = await runDashboard(title, options);
  } else {
    out(title);
    summary = await runCampaign(options, (e) => {
      if (e.kind === 'finding') {
        const c = classify(backends, e.signature!, corpus);
        const line = `NEW  ${CLASS_LABEL[c]}  ${shown(e.text, 1000)}\n     → ${shown(e.path ?? '', 500)}`;
        out(c === 'unexpected' ? emph(line) : line);
      } else out(e.kind === 'warning' ? `warning: ${shown(e.text, 1000)}` : e.text);
    });
  }
  if (summary.resumedFrom.some((x) => x > 0)) out(`(resumed at iterations ${summary.resumedFrom.join(', ')})`);
  const secs = summary.elapsedMs / 1000;
  const classes: Record<Class, number> = { expected: 0, known: 0, corpus: 0, unexpected: 0 };
  const unexpected: { signature: string; path: string }[] = [];
  for (const f of summary.newFindings) {
    const c = classify(backends, f.signature, corpus);
    classes[c]++;
    if (c === 'unexpected') unexpected.push(f);
  }
  // Rates were recorded with the default generator: only comparable with its settings.
  const alarms = maxEvents === DEFAULT_GEN.maxEvents ? rateAlarms(backends, summary.bySignature, summary.perTarget) : [];
  out(`done: ${summary.scenarios} interleavings, ${summary.events} events in ${secs.toFixed(1)}s (${Math.round(summary.events / secs)} events/s), ${summary.divergent} divergent; ${summary.newFindings.length} new root causes (${classes.unexpected} UNEXPECTED, ${classes.expected} documented bugs, ${classes.known} documented deviations, ${classes.corpus} in corpus)`);
  for (const [k, [sc, ev, dv]] of Object.entries(summary.perTarget)) out(`  ${k.padEnd(28)} ${String(sc).padStart(9)} interleavings ${String(ev).padStart(11)} events ${String(dv).padStart(8)} divergent`);
  for (const r of alarms) {
    out(emph(`RATE JUMP  ${r.signature}: in ${r.observed} of ${r.runs} interleavings, ${r.ratio.toFixed(0)}x its recorded rate ${r.recorded.toExponential(1)} — a new cause may share this documented symptom`));
  }
  for (const f of unexpected) out(emph(`UNEXPECTED  ${f.signature}\n            → ${f.path}`));
  epilogue(summary, plan, backends, a.values.coverage === true, out);
  if (unexpected.length > 0 || alarms.length > 0) out(`read them with: irqdiff triage ${outDir}`);
  return unexpected.length > 0 || alarms.length > 0 ? 1 : 0;
}

async function cmdMinimize(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { backend: { type: 'string' }, signature: { type: 'string' }, out: { type: 'string' } });
  if (a.values.help) { out(HELP.minimize!); return 0; }
  if (a.positionals.length !== 1) throw new UsageError('minimize: give exactly one scenario FILE');
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  const file = a.positionals[0]!;
  const outFile = a.values.out as string | undefined;
  const s = readScenarioFile(file);
  const given = a.values.backend as string | undefined;
  if (given !== undefined && !/^[^/]+\/[^/]+$/.test(given)) throw new UsageError('minimize: --backend NAME/VARIANT is required');
  const t = given !== undefined ? resolveTargets(backends, [given])[0]! : s.found ? foundTarget(file, backends, s.found) : undefined;
  if (!t) throw new UsageError('minimize: --backend NAME/VARIANT is required');
  const spec = `${t.backend.name}/${t.variant}`;
  const unsupported = t.backend.supports(s.machine);
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
  const a = args(argv, {});
  if (a.values.help) { out(HELP['list-backends']!); return 0; }
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  for (const b of backends) {
    out(`${b.name} — ${b.description}`);
    for (const v of b.variants) {
      out(`  ${(b.name + '/' + v.name).padEnd(26)} [${v.status}] ${v.source}`);
      out(`  ${''.padEnd(26)} ${v.summary}`);
      for (const e of v.expectedBugs) out(`  ${''.padEnd(26)} expects ${e.cause} — ${e.why}`);
      for (const e of v.knownDeviations ?? []) out(`  ${''.padEnd(26)} known deviation ${e.cause} — ${e.why}`);
    }
  }
  return 0;
}

async function cmdTriage(argv: string[], out: (l: string) => void): Promise<number> {
  const a = args(argv, { corpus: { type: 'string' } });
  if (a.values.help) { out(HELP.triage!); return 0; }
  if (a.positionals.length > 1) throw new UsageError('triage: at most one directory');
  const backends = await allBackends((a.values['backend-module'] as string[] | undefined) ?? []);
  const { runTriage } = await import('../tui/run.js');
  await runTriage(a.positionals[0] ?? 'crashes', (a.values.corpus as string | undefined) ?? 'corpus', backends);
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
      case 'fuzz': return await cmdFuzz(rest, out);
      case 'run': case 'replay': return await cmdRun(rest, out);
      case 'minimize': return await cmdMinimize(rest, out);
      case 'list-backends': return await cmdList(rest, out);
      case 'triage': return await cmdTriage(rest, out);
      case 'explore': return await cmdExplore(rest, out, (m) => new UsageError(m));
      case 'real': case 'real-fuzz': return await cmdReal(cmd, rest, out, err);
      default: throw new UsageError(`unknown command '${cmd}' (try irqdiff --help)`);
    }
  } catch (e) {
    // Bad input or unwritable output: one line (sanitized: it may quote a file), exit 2.
    if (e instanceof UsageError || e instanceof ScenarioError || e instanceof TargetError || e instanceof BackendModuleError || e instanceof OutputError) {
      err(`irqdiff: ${shown(e.message, 2000)}`);
      return 2;
    }
    throw e;
  }
}
