import type { Sender } from '@motoreach/chat-client';

type Person = Pick<Sender, 'id' | 'role'>;

// Ids are opaque strings from the host's auth system, so a vehicle owner and a workshop admin may
// share one: a person is the role and the id together, as the server keys `client_id` too.
export const samePerson = (a: Person, b: Person | null | undefined): boolean => !!b && a.id === b.id && a.role === b.role;

export const personKey = (p: Person): string => `${p.role}/${p.id}`;
