// What the marketplace does when the chat tells it something: the one place that knows the chat's
// webhook events (Standard Webhooks, payload `{type, timestamp, data}`) and turns each into the
// marketplace's own action. A workshop's answer moves the request to "awaiting the customer", a
// room's change goes into the dispute log, and an unread reminder becomes an e-mail.
import type { Message, RoomDetail } from '@motoreach/protocol';
import type { Marketplace } from './marketplace.js';
import type { Outbox } from './outbox.js';

/** What a room's change may change. */
export type RoomField = 'workshop_id' | 'title' | 'status' | 'user_name' | 'workshop_name';

export type ChatEvent =
  | { type: 'message.created'; timestamp: string; data: { message: Message } }
  | { type: 'room.created'; timestamp: string; data: { room: RoomDetail } }
  | {
      type: 'room.updated';
      timestamp: string;
      /** The room as it is now; the fields that changed, and what they were before. */
      data: { room: RoomDetail; changed: RoomField[]; previous: Partial<Pick<RoomDetail, RoomField>> };
    }
  | {
      type: 'room.read';
      timestamp: string;
      data: { request_id: string; side: 'user' | 'workshop'; read_cursors: RoomDetail['read_cursors']; unread: number };
    }
  | {
      type: 'room.unread_reminder';
      timestamp: string;
      data: {
        room: RoomDetail;
        /** The side that has not read. */
        side: 'user' | 'workshop';
        /** Who to tell: the owner, or the workshop (its staff). */
        notify: { user_id: string } | { workshop_id: string };
        unread: number;
        oldest_unread: Message;
        /** When the unread episode began. */
        unread_since: string;
        /** Whether a socket of that side was open when the reminder fired. */
        connected: boolean;
      };
    };

/** The envelope every delivery has; anything else is refused before it is stored. */
export function isChatEvent(payload: unknown): payload is ChatEvent {
  const event = payload as Partial<ChatEvent> | null;
  return typeof event?.type === 'string' && typeof event.timestamp === 'string' && typeof event.data === 'object' && event.data !== null;
}

export interface ChatEventContext {
  marketplace: Marketplace;
  outbox: Outbox;
  log: (line: string) => void;
}

// #region act
/** An event of a type this backend does not know (a newer chat server's) is received and ignored. */
export function actOnChatEvent(event: ChatEvent, { marketplace, outbox, log }: ChatEventContext): void {
  switch (event.type) {
    case 'message.created': {
      const { request_id: requestId, seq, sender } = event.data.message;
      // A system message (the backend's own quote) waits on nobody new.
      if (sender.role === 'system') return;
      if (!marketplace.request(requestId)) return log(`webhook message.created: no service request ${requestId} here`);
      marketplace.setProgress(requestId, sender.role === 'workshop_admin' ? 'awaiting_customer' : 'awaiting_workshop', seq);
      return;
    }
    case 'room.updated': {
      const { room, changed, previous } = event.data;
      marketplace.recordRoomChange(room.id, { at: event.timestamp, changed, previous, status: room.status, workshopId: room.workshop_id, title: room.title });
      return;
    }
    case 'room.unread_reminder': {
      const { room, notify, unread } = event.data;
      const requestId = room.id;
      const request = marketplace.request(requestId);
      if (!request) return log(`webhook room.unread_reminder: no service request ${requestId} here`);
      // The chat names the owner, or the workshop, whose staff are told.
      const owner = 'user_id' in notify ? marketplace.user(notify.user_id) : undefined;
      const people = 'user_id' in notify ? (owner ? [owner] : []) : marketplace.staffOf(notify.workshop_id);
      if (people.length === 0) return log(`webhook room.unread_reminder: nobody to tell in ${requestId}`);
      outbox.send({
        to: [...new Set(people.map((person) => person.email))],
        subject: `${unread} unread ${unread === 1 ? 'message' : 'messages'} about "${request.title}"`,
        // No message text in the e-mail: it stays in the chat, behind the person's sign-in.
        text: `You have ${unread} unread ${unread === 1 ? 'message' : 'messages'} about your service request ${requestId}. Open it to answer.`,
        request_id: requestId,
      });
      return;
    }
    // The backend created the room itself and needs no read receipts: nothing to do.
    case 'room.created':
    case 'room.read':
      return;
  }
}
// #endregion act
