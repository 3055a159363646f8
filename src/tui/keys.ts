// Keys, read raw from Ink's input stream: its useInput hides Home and End, and a held or fast
// key arrives as one chunk holding several presses ("jjjj", "\x1b[B\x1b[B"): each one counts.

import { useEffect, useRef } from 'react';
import { useStdin } from 'ink';

export interface Press { name: string; count: number }

const SEQ: Record<string, string> = {
  '\x1b[A': 'up', '\x1b[B': 'down', '\x1b[C': 'right', '\x1b[D': 'left', '\x1bOA': 'up', '\x1bOB': 'down', '\x1bOC': 'right', '\x1bOD': 'left',
  '\x1b[H': 'home', '\x1bOH': 'home', '\x1b[1~': 'home', '\x1b[7~': 'home',
  '\x1b[F': 'end', '\x1bOF': 'end', '\x1b[4~': 'end', '\x1b[8~': 'end',
  '\x1b[5~': 'pageup', '\x1b[6~': 'pagedown', '\x1b[3~': 'delete',
};

/** Every press in one raw chunk from the terminal. */
export function rawPresses(chunk: string): Press[] {
  const out: Press[] = [];
  for (const m of chunk.matchAll(/\x1b\[[0-9;]*[A-Za-z~]|\x1bO[A-Za-z]|\x1b|\r|\n|\x7f|\x08|\t|[\s\S]/gu)) {
    const t = m[0];
    const code = t.codePointAt(0)!;
    const name = SEQ[t] ?? (t === '\r' || t === '\n' ? 'return' : t === '\x1b' ? 'escape' : t === '\x7f' || t === '\x08' ? 'backspace' : t === '\t' ? 'tab'
      : code < 0x20 ? `ctrl-${String.fromCharCode(code + 0x60)}` : t);
    const last = out[out.length - 1];
    if (last && last.name === name && name.length > 0) last.count++;
    else out.push({ name, count: 1 });
  }
  return out;
}

/** Like Ink's useInput, with every press decoded (Home/End included) and repeats counted. */
export function useKeys(handler: (keys: Press[]) => void): void {
  const { setRawMode, internal_eventEmitter: events } = useStdin();
  const ref = useRef(handler);
  ref.current = handler;
  useEffect(() => {
    setRawMode(true);
    return () => setRawMode(false);
  }, [setRawMode]);
  useEffect(() => {
    const on = (data: string | Buffer) => ref.current(rawPresses(String(data)));
    events?.on('input', on);
    return () => { events?.removeListener('input', on); };
  }, [events]);
}
