// Triage counts interleavings, not files: a root cause seen a thousand times in an overnight
// campaign is one reproducer file, and the list must say how often it showed (campaign.json).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BACKENDS } from '../../src/backends/registry.js';
import { printTriageList } from '../../src/tui/list-text.js';

describe('triage counts', () => {
  it('a bucket shows the interleavings that hit it over the campaign, with first and last seen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'irqdiff-hits-'));
    // The campaign's worker threads run the built code, as a user's campaign does.
    execFileSync(process.execPath, ['bin/irqdiff.js', 'fuzz', '--backend', 'kvm/v4.10', '--iterations', '400', '--workers', '1', '--out', dir], { stdio: 'ignore' });
    const state = JSON.parse(readFileSync(join(dir, 'campaign.json'), 'utf8')) as { buckets: Record<string, { count: number; firstSeen: string; lastSeen: string }> };
    const rows: { signature: string; count: number; firstSeen: string; lastSeen: string; files: string[] }[] = [];
    printTriageList(dir, 'corpus', BACKENDS, true, (l) => rows.push(JSON.parse(l)));
    const kick = rows.find((r) => r.signature === 'kvm/v4.10:stuck:pir-on-kick-noop');
    expect(kick).toBeDefined();
    const saved = state.buckets['kvm/v4.10:stuck:pir-on-kick-noop']!;
    expect(kick!.files).toHaveLength(1);
    expect(kick!.count).toBe(saved.count);
    expect(kick!.count).toBeGreaterThan(1);
    expect(kick!.firstSeen).toBe(saved.firstSeen);
    expect(kick!.lastSeen).toBe(saved.lastSeen);
  });
});
