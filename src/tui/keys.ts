// Keys as Ink hands them over. A held or fast key arrives as one input event holding several
// presses ("jjjj", or "[B\x1b[B" for two ↓ after Ink strips the first ESC): each press counts.
// Ink's Key has no Home/End: they are decoded here from their escape sequences.

export interface Press { name: string; count: number }

interface InkKey { upArrow: boolean; downArrow: boolean; leftArrow: boolean; rightArrow: boolean; pageUp: boolean; pageDown: boolean; return: boolean; escape: boolean; tab: boolean; backspace: boolean; delete: boolean; ctrl: boolean }

const SEQ: Record<string, string> = {
  '\x1b[A': 'up', '\x1b[B': 'down', '\x1b[C': 'right', '\x1b[D': 'left', '\x1bOA': 'up', '\x1bOB': 'down', '\x1bOC': 'right', '\x1bOD': 'left',
  '\x1b[H': 'home', '\x1bOH': 'home', '\x1b[1~': 'home', '\x1b[7~': 'home',
  '\x1b[F': 'end', '\x1bOF': 'end', '\x1b[4~': 'end', '\x1b[8~': 'end',
  '\x1b[5~': 'pageup', '\x1b[6~': 'pagedown', '\x1b[3~': 'delete',
};

/** The presses in one input event, consecutive repeats merged with their count. */
export function presses(input: string, key: InkKey): Press[] {
  const single = key.upArrow ? 'up' : key.downArrow ? 'down' : key.leftArrow ? 'left' : key.rightArrow ? 'right'
    : key.pageUp ? 'pageup' : key.pageDown ? 'pagedown' : key.return ? 'return' : key.tab ? 'tab'
    : key.backspace || key.delete ? 'backspace' : undefined;
  if (single) return [{ name: single, count: 1 }];
  if (key.ctrl) return [{ name: `ctrl-${input}`, count: 1 }];
  if (key.escape && input === '') return [{ name: 'escape', count: 1 }];
  // Ink strips the first ESC of an unrecognised sequence: put it back before splitting.
  const raw = /^(\[|O)[0-9;]*[A-Za-z~]/.test(input) && input.length > 1 && !/^[A-Za-z]/.test(input) ? '\x1b' + input : input;
  const out: Press[] = [];
  for (const m of raw.matchAll(/\x1b\[[0-9;]*[A-Za-z~]|\x1bO[A-Za-z]|\x1b|\r|[\s\S]/gu)) {
    const t = m[0];
    const name = SEQ[t] ?? (t === '\r' ? 'return' : t === '\x1b' ? 'escape' : t);
    const last = out[out.length - 1];
    if (last && last.name === name) last.count++;
    else out.push({ name, count: 1 });
  }
  return out;
}
