// Typed events. Our own rather than mitt: the SDK used only on/off/emit of it, and these few lines
// are about 50 bytes smaller min+gzip than mitt (its wildcard, `all` and off-everything), under a budget the SDK is at.
export interface Emitter<Events> {
  on<K extends keyof Events>(type: K, handler: (e: Events[K]) => void): void;
  off<K extends keyof Events>(type: K, handler: (e: Events[K]) => void): void;
  emit<K extends keyof Events>(type: K, e: Events[K]): void;
}

export const createEmitter = <Events extends object>(): Emitter<Events> => {
  // Each change makes a new list, so that an emit goes on over the handlers it started with.
  const handlers = new Map<keyof Events, ((e: never) => void)[]>();
  return {
    on: (type, handler) => {
      handlers.set(type, [...(handlers.get(type) ?? []), handler]);
    },
    // Every registration of `handler` for `type` goes, as with removeEventListener.
    off: (type, handler) => {
      handlers.set(type, (handlers.get(type) ?? []).filter((h) => h !== handler));
    },
    emit: (type, e) => {
      for (const handler of handlers.get(type) ?? []) (handler as (e: unknown) => void)(e);
    },
  };
};
