import type { Me, Sender } from './wire.js';
import type { Side } from './types.js';

export const sideOf = (role: Sender['role']): Side => (role === 'user' ? 'user' : 'workshop');

// A person is a role and an id: ids are opaque per role, so an owner and an admin may share one, and
// a system sender (the host's backend) is never a participant, whatever its id.
export const samePerson = (a: Sender, b: Sender): boolean => a.id === b.id && a.role === b.role;

// The start of every outbox key of one person on one server: `{baseUrl}|{side}:{id}|`, the room id follows.
export const personKey = (base: string, me: Me): string => `${base}|${sideOf(me.role)}:${me.id}|`;
