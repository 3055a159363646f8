// Redis key names besides BullMQ's own (which live under "<prefix>:<queue>:").
export const PREFIX = 'irqdiff';

export const keys = (queue: string) => ({
  /** The model hash of the newest coordinator on this queue: workers check it when they start. */
  model: `${PREFIX}:${queue}:model`,
  /** Live workers: "host:pid" → {threads, model, since, seen}. */
  workers: `${PREFIX}:${queue}:workers`,
  campaign: (c: string) => ({
    /** Job id → result JSON (HSETNX: the first result of a job is the one kept). */
    results: `${PREFIX}:${queue}:c:${c}:results`,
    /** Job ids in the order their results arrived (may repeat: at-least-once). */
    log: `${PREFIX}:${queue}:c:${c}:log`,
    /** The campaign's parameters and how far it has enqueued. */
    meta: `${PREFIX}:${queue}:c:${c}:meta`,
  }),
});
