// Mounting the Ink screens on the real terminal.
import React from 'react';
import { render } from 'ink';
import type { Backend } from '../backends/api.js';
import { runCampaign, type CampaignOptions, type CampaignSummary } from '../fuzz/campaign.js';
import { corpusSignatures } from '../store/corpus.js';
import { useColor } from '../cli/output.js';
import { Dashboard, type DashboardState } from './dashboard.js';
import { loadItems } from './findings.js';
import { loadStatuses } from './status.js';
import { Triage } from './triage.js';

export async function runTriage(dir: string, corpusDir: string, backends: Backend[]): Promise<void> {
  const items = loadItems(dir);
  const { map, warning } = loadStatuses(dir);
  if (warning) process.stderr.write(`irqdiff: warning: ${warning}\n`);
  const app = render(<Triage items={items} backends={backends} corpusDir={corpusDir} dir={dir} corpus={corpusSignatures(corpusDir)} statuses={map}
    width={process.stdout.columns || 80} height={process.stdout.rows || 24} color={useColor(process.stdout)} />);
  await app.waitUntilExit();
}

export async function runDashboard(title: string, o: CampaignOptions, classify: (sig: string) => string): Promise<CampaignSummary> {
  const state: DashboardState & { rates: number[] } = {
    title, elapsed: 0, budget: o.seconds, scenarios: 0, events: 0, perTarget: {}, findings: [], warnings: [],
    rates: [], width: process.stdout.columns || 80, height: process.stdout.rows || 24, color: useColor(process.stdout),
  };
  const app = render(<Dashboard s={state} />);
  const update = () => app.rerender(<Dashboard s={{ ...state, findings: state.findings.slice(), rates: state.rates.slice() }} />);
  const summary = await runCampaign(o, (e) => {
    if (e.kind === 'finding') state.findings.push({ signature: e.signature!, path: e.path!, label: classify(e.signature!) });
    else if (e.kind === 'warning') state.warnings.push(e.text);
    else if (e.summary) {
      state.elapsed = e.elapsedSeconds ?? state.elapsed;
      state.scenarios = e.summary.scenarios;
      state.events = e.summary.events;
      state.perTarget = { ...e.summary.perTarget };
      state.rates.push(state.elapsed > 0 ? e.summary.events / state.elapsed : 0);
      if (state.rates.length > 120) state.rates.shift();
    }
    update();
  });
  state.elapsed = summary.elapsedMs / 1000;
  state.scenarios = summary.scenarios;
  state.events = summary.events;
  state.perTarget = summary.perTarget;
  update();
  app.unmount();
  return summary;
}
