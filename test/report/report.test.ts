// `irqdiff report`: the HTML is self-contained (no script, nothing fetched), escapes what
// came from files, and — checked the way a person sees it — renders in headless Chromium with
// the UNEXPECTED bar in red and the documented-bug bar in orange, and the bucket's lane diagram.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { baremetal } from '../../src/backends/baremetal/index.js';
import { bhyve } from '../../src/backends/bhyve/index.js';
import { renderReport, writeReport } from '../../src/report/html.js';
import { readScenarioFile, scenarioText } from '../../src/store/files.js';

const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((c) => spawnSync(c, ['--version']).status === 0);

function campaign(): string {
  const dir = mkdtempSync(join(tmpdir(), 'irqdiff-report-'));
  const s = readScenarioFile('corpus/bhyve/bhyve-svm-lost-ipi.json');
  mkdirSync(join(dir, 'bhyve', 'prefix'), { recursive: true });
  writeFileSync(join(dir, 'bhyve', 'prefix', 'stuck-1.json'), scenarioText({ irqdiff: 1, machine: s.machine, events: s.events,
    found: { backend: 'bhyve', variant: 'prefix', signature: 'bhyve/prefix:stuck:collapsed-into-taken-v_irq', message: 'm', seed: 's', originalEvents: 30, foundAt: '2026-11-21T00:00:00Z' } }));
  writeFileSync(join(dir, 'x.json'), scenarioText({ irqdiff: 1, machine: { vcpus: 2, apic: 'x2apic', ioapic: [] }, events: [{ k: 'ipi', cpu: 0, vector: 0x41, dest: 1 }],
    found: { backend: 'baremetal', variant: 'sdm', signature: 'baremetal/sdm:lost:<script>alert(1)</script>', message: 'm', seed: 's', originalEvents: 3, foundAt: 'now' } }));
  return dir;
}

/** Just enough PNG: 8-bit RGB or RGBA, non-interlaced (what Chromium writes). */
function decodePng(buf: Buffer): { width: number; height: number; px: (x: number, y: number) => [number, number, number] } {
  let pos = 8;
  let width = 0, height = 0, type = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const kind = buf.toString('ascii', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (kind === 'IHDR') { width = data.readUInt32BE(0); height = data.readUInt32BE(4); type = data[9]!; }
    if (kind === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const bpp = type === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= bpp ? out[y * stride + i - bpp]! : 0;
      const b = y > 0 ? out[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? out[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      out[y * stride + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, px: (x, y) => [out[y * stride + x * bpp]!, out[y * stride + x * bpp + 1]!, out[y * stride + x * bpp + 2]!] };
}

describe('irqdiff report', () => {
  it('is self-contained and escapes what came from files', () => {
    const html = renderReport(campaign(), join(tmpdir(), 'no-corpus'), [baremetal, bhyve]);
    expect(html).not.toMatch(/<script|src=|href="http/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('1 UNEXPECTED');
    expect(html).toMatch(/<tr><th>bhyve\/prefix<\/th><td><\/td><td>1<\/td>/);
    expect(html).toMatch(/&gt;&gt; +13 /); // the lane diagram with its divergence mark
    expect(html).toContain('Documented bug');
  });

  it.skipIf(!chromium)('renders in headless Chromium: red UNEXPECTED bar, orange documented-bug bar', () => {
    const dir = campaign();
    const file = writeReport(dir, join(tmpdir(), 'no-corpus'), [baremetal, bhyve]);
    const png = join(dir, 'shot.png');
    const r = spawnSync(chromium!, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--screenshot=${png}`, '--window-size=1000,900', `file://${file}`], { encoding: 'utf8', timeout: 60000 });
    expect(r.status, r.stderr).toBe(0);
    const img = decodePng(readFileSync(png));
    expect(img.width).toBe(1000);
    let red = 0, orange = 0, ink = 0;
    for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) {
      const [R, G, B] = img.px(x, y);
      if (Math.abs(R - 0xc6) < 12 && Math.abs(G - 0x28) < 12 && Math.abs(B - 0x28) < 12) red++;
      if (Math.abs(R - 0xef) < 12 && Math.abs(G - 0x6c) < 12 && Math.abs(B - 0x00) < 12) orange++;
      if (R + G + B < 200) ink++;
    }
    // A bar is ~18 px tall: hundreds of pixels each; text puts dark pixels on the page.
    expect(red).toBeGreaterThan(1000);
    expect(orange).toBeGreaterThan(1000);
    expect(ink).toBeGreaterThan(2000);
  });
  if (!chromium) console.warn('chromium not installed: skipping the headless-browser report test (bash harness/setup.sh installs it)');
});
