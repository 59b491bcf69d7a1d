export type * from './wire.js';
export * from './codes.js';
