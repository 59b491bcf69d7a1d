import type { Me, Role } from './wire.js';
import type { Side } from './types.js';

export const sideOf = (role: Role): Side => (role === 'user' ? 'user' : 'workshop');

// A person is a side and an id: ids are opaque per side, so an owner and an admin may share one.
export const samePerson = (a: Me, b: Me): boolean => a.id === b.id && sideOf(a.role) === sideOf(b.role);

// The start of every outbox key of one person on one server: `{baseUrl}|{side}:{id}|`, the room id follows.
export const personKey = (base: string, me: Me): string => `${base}|${sideOf(me.role)}:${me.id}|`;
