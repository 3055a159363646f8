// The Redis connection: a URL that may carry a password (redis://:pw@host) and TLS
// (rediss://), shown without the password, checked at once so that a wrong address or
// password is one clear line and exit 2, not a client retrying forever.
import { Redis } from 'ioredis';

export class QueueUrlError extends Error {}

export interface QueueUrl {
  url: string;
  /** For messages: the password replaced by "***". */
  shown: string;
  db: number;
}

export function parseQueueUrl(text: string): QueueUrl {
  let u: URL;
  try { u = new URL(text); } catch { throw new QueueUrlError(`--queue: not a URL; expected redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://...`); }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new QueueUrlError(`--queue: scheme '${u.protocol.slice(0, 20)}' is not redis: or rediss:`);
  if (u.hostname === '') throw new QueueUrlError('--queue: no host');
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw new QueueUrlError(`--queue: database '${path.slice(0, 20)}' is not a number from 0 to 99`);
  const shownUrl = new URL(u.href);
  if (shownUrl.password !== '') shownUrl.password = '***';
  return { url: u.href, shown: shownUrl.href, db: path === '' ? 0 : Number(path) };
}

/** A connection for BullMQ (which needs maxRetriesPerRequest: null), verified with PING. */
export async function connect(q: QueueUrl, timeoutMs = 5000): Promise<Redis> {
  const r = new Redis(q.url, { maxRetriesPerRequest: null, lazyConnect: true, connectTimeout: timeoutMs, enableOfflineQueue: true });
  let last = '';
  r.on('error', (e: Error) => { last = e.message; });
  try {
    await Promise.race([
      r.connect().then(() => r.ping()),
      new Promise((_, reject) => setTimeout(() => reject(new Error(last || 'timed out')), timeoutMs).unref()),
    ]);
  } catch (err) {
    r.disconnect();
    const msg = (err as Error).message || last;
    const hint = /NOAUTH|WRONGPASS|invalid password/i.test(msg) ? ' (wrong or missing password: redis://:PASSWORD@HOST)' : '';
    throw new QueueUrlError(`cannot use Redis at ${q.shown}: ${msg.slice(0, 300)}${hint}`);
  }
  return r;
}
