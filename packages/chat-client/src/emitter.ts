import mittModule, { type Emitter, type EventType } from 'mitt';

// mitt's typings describe a CommonJS module under NodeNext resolution, while the ESM build that
// browsers, bundlers and Node load exports the factory itself as default.
const mitt = ((mittModule as unknown as { default?: unknown }).default ?? mittModule) as typeof mittModule.default;

// Accepts event maps declared as interfaces (which have no index signature).
export const createEmitter = <Events extends object>(): Emitter<Events & Record<EventType, unknown>> => mitt();
