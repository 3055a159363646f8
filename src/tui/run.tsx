// Mounting the Ink screens on the real terminal.
import React from 'react';
import { render } from 'ink';
import type { Backend } from '../backends/api.js';
import { runCampaign, type CampaignOptions, type CampaignSummary } from '../fuzz/campaign.js';
import { Dashboard, type DashboardState } from './dashboard.js';
import { loadItems, Triage } from './triage.js';

export async function runTriage(dir: string, corpusDir: string, backends: Backend[]): Promise<void> {
  const items = loadItems(dir);
  const app = render(<Triage items={items} backends={backends} corpusDir={corpusDir} height={process.stdout.rows || 30} />);
  await app.waitUntilExit();
}

export async function runDashboard(title: string, o: CampaignOptions): Promise<CampaignSummary> {
  const state: DashboardState = { title, elapsed: 0, budget: o.seconds, scenarios: 0, events: 0, perTarget: {}, findings: [], warnings: [] };
  const app = render(<Dashboard s={state} />);
  const update = () => app.rerender(<Dashboard s={{ ...state }} />);
  const summary = await runCampaign(o, (e) => {
    if (e.kind === 'finding') state.findings.push({ signature: e.signature!, path: e.path! });
    else if (e.kind === 'warning') state.warnings.push(e.text);
    else if (e.summary) {
      state.elapsed = e.elapsedSeconds ?? state.elapsed;
      state.scenarios = e.summary.scenarios;
      state.events = e.summary.events;
      state.perTarget = { ...e.summary.perTarget };
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
