import mittModule, { type Emitter, type EventType } from 'mitt';

// mitt's typings describe a CommonJS module under NodeNext resolution, while what every loader gets
// (its ESM build through `exports`, or module.exports of the CommonJS one) is the factory itself.
const mitt = mittModule as unknown as typeof mittModule.default;

// Accepts event maps declared as interfaces (which have no index signature).
export const createEmitter = <Events extends object>(): Emitter<Events & Record<EventType, unknown>> => mitt();
