import type { Role, RoomDetail, RoomInfo, RoomSummary } from '@motoreach/protocol';

// The wire's objects are the contract's (@motoreach/protocol), under the names the server uses.
export type { Message, MessageData, ReadCursors, Role, RoomStatus, Sender, UnreadSnapshot } from '@motoreach/protocol';
export type Room = RoomInfo;
export type RoomState = RoomDetail;
export type RoomListing = RoomSummary;

export type Side = 'user' | 'workshop';

/** Who a stored message is from: a side, or the host's backend (`system`), whose messages are unread for both sides. */
export type MessageSide = Side | 'system';

/**
 * Who may call: a side's participant, or the host's backend (`service`, REST only), which takes
 * part in no room and so holds no side, no read cursor and no inbox of its own.
 */
export type CallerRole = Role | 'service';

/** Who is calling, as proven by a verified token. */
export interface Identity {
  id: string;
  role: CallerRole;
  workshopId: string | null;
  name: string | null;
  /** When the token expires (ms since the epoch): a socket opened with it is closed then. */
  expiresAt: number;
}

/**
 * The owner of one side's unread counts: the vehicle owner for the `user`
 * side, the whole workshop for the `workshop` side (its admins share one
 * read cursor per room, so they share their counts too).
 */
export type Principal = { side: 'user'; userId: string } | { side: 'workshop'; workshopId: string };

/** What a chat needs of its room once authorized: which room, and who holds each side. */
export type RoomRef = Pick<Room, 'id' | 'user_id' | 'workshop_id'>;

/** A caller that holds a side of its rooms: an owner or a workshop's admin. */
export type Participant = Identity & { role: Role };

export function isParticipant(identity: Identity): identity is Participant {
  return identity.role !== 'service';
}

export function sideOf(role: Role): Side {
  return role === 'user' ? 'user' : 'workshop';
}

export function otherSide(side: Side): Side {
  return side === 'user' ? 'workshop' : 'user';
}

/**
 * One caller, for per-caller limits: its side and its id, since ids are opaque
 * per side and an owner and an admin may share one.
 */
export function callerKey(identity: Identity): string {
  return `${identity.role === 'service' ? 'service' : sideOf(identity.role)}:${identity.id}`;
}

export function principalOf(identity: Participant): Principal {
  return identity.role === 'user'
    ? { side: 'user', userId: identity.id }
    : { side: 'workshop', workshopId: identity.workshopId as string };
}

/** The principal holding a room's given side. */
export function principalOfRoomSide(room: RoomRef, side: Side): Principal {
  return side === 'user' ? { side, userId: room.user_id } : { side, workshopId: room.workshop_id };
}
