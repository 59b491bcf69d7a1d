/** The most messages a `ready` frame carries: the REST page's own limit. */
const MAX_READY_MESSAGES = 100;

/**
 * What a chat socket asks to find in its `ready` frame (`?history=N`, with `?after=S` to resume):
 * the room and a page of messages, so that a client shows the conversation after the socket's own
 * round trip instead of two REST calls more. Numbers only: nothing of the URL is kept.
 */
export type ReadyHistory = { limit: number; after: number | undefined } | { invalid: string } | null;

const WHOLE = /^\d{1,9}$/;

export function readyHistoryOf(params: URLSearchParams): ReadyHistory {
  const history = params.get('history');
  const after = params.get('after');
  if (history === null) return after === null ? null : { invalid: 'after is only read with history' };
  if (!WHOLE.test(history) || Number(history) < 1 || Number(history) > MAX_READY_MESSAGES) {
    return { invalid: `history must be a whole number from 1 to ${MAX_READY_MESSAGES}` };
  }
  if (after !== null && !WHOLE.test(after)) return { invalid: 'after must be a whole number' };
  return { limit: Number(history), after: after === null ? undefined : Number(after) };
}

/** The page a `ready` frame carries: bounded by its `last_seq`, which later messages follow live. */
export function readyPageQuery(history: { limit: number; after: number | undefined }, lastSeq: number) {
  return { limit: history.limit, before: lastSeq + 1, ...(history.after !== undefined && { after: history.after }) };
}
