import type { Attachment, ExportedAttachment, ExportedRoom, ReadResult } from '@motoreach/protocol';
import type { Attachments } from '../attachments/attachments.js';
import type { Fanout } from '../fanout/fanout.js';
import { principalGroup, roomGroup } from '../fanout/fanout.js';
import type { AppendResult, ChatStore, CursorResult, InboxCursor, InboxPage, MessagePage, PageQuery, RoomPut, UnreadCounts } from '../store/store.js';
import { messageFrame, messageRedactedFrame, notificationFrame, readFrame, roomFrame, typingFrame } from './frames.js';
import { NotHolderError, RoomClosedError } from '../store/failures.js';
import { ChatError } from './errors.js';
import { PublishOrder, type PublishTurn } from './publish-order.js';
import { boundedText } from './schemas.js';
import {
  type Identity,
  type Message,
  type MessageData,
  type MessageSide,
  type Participant,
  type Principal,
  type Room,
  type RoomListing,
  type RoomRef,
  type RoomState,
  type Side,
  type UnreadSnapshot,
  callerKey,
  isParticipant,
  otherSide,
  principalOf,
  principalOfRoomSide,
  sideOf,
} from './types.js';
import { UnreadSnapshots } from './unread-snapshots.js';
import type { Metrics } from '../metrics/metrics.js';

export interface ChatLimits {
  maxBodyChars: number;
  maxTitleChars: number;
  unreadSnapshotWindowMs: number;
}

const PREVIEW_CHARS = 140;
const MAX_PAGE = 100;
const DEFAULT_PAGE = 50;
/** An inbox search's longest `q`, in characters after trimming. */
const MAX_QUERY_CHARS = 100;

/** Whether the caller may see the room: its owner, its workshop's admins, or the host's backend. */
export function mayAccess(identity: Identity, room: RoomRef): boolean {
  if (!isParticipant(identity)) return true;
  return identity.role === 'user' ? room.user_id === identity.id : room.workshop_id === identity.workshopId;
}

/** Whom a participant writes and reads for: the owner, or the admin's workshop. */
function holderOf(identity: Participant): string {
  return identity.role === 'user' ? identity.id : (identity.workshopId as string);
}

/** The store's refusals as the caller's errors: decided in the write's transaction, after authorization. */
function refusalOf(error: unknown): unknown {
  if (error instanceof RoomClosedError) return new ChatError('closed', 'this service request is closed; it takes no new messages');
  // Reassigned away from the caller's workshop between authorization and the write.
  if (error instanceof NotHolderError) return new ChatError('forbidden', 'not a participant of this service request');
  return error;
}

function changed(before: Room, after: Room): boolean {
  return (
    before.workshop_id !== after.workshop_id ||
    before.title !== after.title ||
    before.status !== after.status ||
    before.user_name !== after.user_name ||
    before.workshop_name !== after.workshop_name
  );
}

/** The caller as a side's participant, for what only a side has (a read cursor, an inbox, a bubble). */
function participant(identity: Identity, refusal: string): Participant {
  if (!isParticipant(identity)) throw new ChatError('forbidden', refusal);
  return identity;
}

function preview(body: string): string {
  // Fewer UTF-16 units than the limit are fewer code points too: most bodies need no walk.
  if (body.length <= PREVIEW_CHARS) return body;
  let out = '';
  let n = 0;
  for (const ch of body) {
    if (n++ === PREVIEW_CHARS) break;
    out += ch;
  }
  return out;
}

/**
 * What happens in a chat, whichever transport asked for it. REST routes and
 * WebSocket handlers only parse, call these methods and answer.
 */
export class ChatService {
  #inFlight = new Set<Promise<unknown>>();
  /** Per room and sender, the send under way behind which the sender's next ones wait (see #inSenderOrder). */
  readonly #senderTails = new Map<string, Promise<unknown>>();
  readonly #order = new PublishOrder();
  readonly #snapshots: UnreadSnapshots;

  constructor(
    readonly store: ChatStore,
    private readonly fanout: Fanout,
    private readonly limits: ChatLimits,
    private readonly onBackgroundError: (error: unknown, context: string) => void,
    /** Files in messages; null: a message naming attachments is refused. */
    readonly attachments: Attachments | null = null,
    private readonly metrics: Metrics | null = null,
  ) {
    this.#snapshots = new UnreadSnapshots(
      store,
      fanout,
      this.#order,
      limits.unreadSnapshotWindowMs,
      (work) => void this.#track(work),
      onBackgroundError,
    );
  }

  async createRoom(identity: Identity, input: { workshop_id: string; title: string }): Promise<Room> {
    if (identity.role !== 'user') throw new ChatError('forbidden', 'only a vehicle owner can open a service request');
    const title = boundedText(input.title, 'title', this.limits.maxTitleChars);
    return this.store.createRoom({ user_id: identity.id, workshop_id: input.workshop_id, title });
  }

  /**
   * The host's backend creates or updates a room under its own id. `created` tells which; an
   * unchanged room is an update too. Another `workshop_id` reassigns the room; another owner is refused.
   */
  async putRoom(identity: Identity, input: Omit<RoomPut, 'title'> & { title: string }): Promise<{ room: RoomState; created: boolean }> {
    if (isParticipant(identity)) throw new ChatError('forbidden', 'only the host\'s service can put a service request');
    const title = boundedText(input.title, 'title', this.limits.maxTitleChars);
    const result = await this.store.putRoom({ ...input, title });
    if (result.outcome === 'moved') {
      throw new ChatError('conflict', 'user_id differs from the stored room\'s: a service request keeps its owner');
    }
    if (result.outcome === 'updated' && changed(result.before, result.room)) this.#announce(result.room, result.before);
    return { room: result.room, created: result.outcome === 'created' };
  }

  /**
   * A room's change reaches its open chat sockets (those of a workshop it left close themselves
   * on it) and its sides' notifications sockets. After a reassignment the workshops on both ends
   * get fresh unread snapshots: the room's unread moved from one's total to the other's. The old
   * workshop gets no room frame: where the room went is none of its business.
   */
  #announce(room: Room, before: Room): void {
    const frame = roomFrame(room);
    this.fanout.publish(roomGroup(room.id), { frame });
    for (const side of ['user', 'workshop'] as const) this.fanout.publish(principalGroup(principalOfRoomSide(room, side)), { frame });
    if (room.workshop_id === before.workshop_id) return;
    this.#snapshots.afterRead(principalOfRoomSide(before, 'workshop'));
    this.#snapshots.afterRead(principalOfRoomSide(room, 'workshop'));
  }

  /**
   * One page of the caller's inbox, newest activity first; `after` null for the first page. `q` and
   * `unread` filter it; a page's `next` continues the filtered list when the same filters come with it.
   */
  async listRooms(
    identity: Identity,
    query: { limit?: number; after: InboxCursor | null; q?: string; unread?: boolean },
  ): Promise<InboxPage> {
    const limit = Math.min(query.limit ?? DEFAULT_PAGE, MAX_PAGE);
    if (limit === 0) throw new ChatError('invalid', 'limit must be at least 1');
    const q = query.q === undefined ? undefined : boundedText(query.q, 'q', MAX_QUERY_CHARS);
    const caller = participant(identity, 'a service has no inbox; it reads rooms by id');
    const page = await this.store.listRooms(principalOf(caller), {
      limit,
      after: query.after,
      ...(q !== undefined && { q }),
      ...(query.unread && { unread: true }),
    });
    if (!this.attachments) return page;
    return { ...page, rooms: page.rooms.map((room) => ({ ...room, last_message: this.#withUrls(room.last_message) })) };
  }

  /** A stored message as it goes out: its attachments with fresh signed URLs. */
  #withUrls<M extends Message | null>(message: M): M {
    return this.attachments ? this.attachments.withUrls(message) : message;
  }

  /** The room, if it exists and the caller takes part in it. */
  async authorize(identity: Identity, requestId: string): Promise<RoomState> {
    const room = await this.store.getRoom(requestId);
    if (!room) throw new ChatError('not_found', 'no such service request');
    if (!mayAccess(identity, room)) throw new ChatError('forbidden', 'not a participant of this service request');
    return room;
  }

  async listMessages(room: RoomRef, query: { before?: number; after?: number; limit?: number }): Promise<MessagePage> {
    const page: PageQuery = { limit: Math.min(query.limit ?? DEFAULT_PAGE, MAX_PAGE) };
    if (query.before !== undefined) page.before = query.before;
    if (query.after !== undefined) page.after = query.after;
    if (page.limit === 0) throw new ChatError('invalid', 'limit must be at least 1');
    const stored = await this.store.listMessages(room.id, page);
    return this.attachments ? { ...stored, messages: stored.messages.map((m) => this.#withUrls(m)) } : stored;
  }

  /**
   * Stores the message, then broadcasts it to the room, then notifies the
   * other side (a system message: both sides). A repeated `client_id` answers
   * the stored message and does neither again. `attachmentIds` names the sender's own unused uploads
   * in the room, which the message then carries.
   */
  sendMessage(
    identity: Identity,
    room: RoomRef,
    body: string,
    clientId: string | null,
    data?: MessageData,
    attachmentIds: string[] = [],
    via: 'ws' | 'rest' = 'rest',
  ): Promise<AppendResult> {
    return this.#track(
      this.#inSenderOrder(identity, room, attachmentIds.length > 0, () => this.#send(identity, room, body, clientId, data, attachmentIds, via)),
    );
  }

  /**
   * A send with attachments reads the store before it takes its place in the room's order: the
   * sender's later sends in the room wait for it, so that what one sender sends one after another is
   * stored in that order. Sends of a sender with none under way take no detour; while no send with
   * files is under way anywhere (nearly always), a send without them costs no key and no lookup.
   */
  #inSenderOrder<T>(identity: Identity, room: RoomRef, withFiles: boolean, send: () => Promise<T>): Promise<T> {
    if (!withFiles && this.#senderTails.size === 0) return send();
    const key = `${room.id}\n${callerKey(identity)}`;
    const before = this.#senderTails.get(key);
    if (!before && !withFiles) return send();
    const work = before ? before.then(send, send) : send();
    const tail = work.catch(() => undefined);
    this.#senderTails.set(key, tail);
    void tail.then(() => {
      if (this.#senderTails.get(key) === tail) this.#senderTails.delete(key);
    });
    return work;
  }

  async #send(
    caller: Identity,
    room: RoomRef,
    body: string,
    clientId: string | null,
    data: MessageData | undefined,
    attachmentIds: string[],
    via: 'ws' | 'rest',
  ): Promise<AppendResult> {
    const started = this.metrics === null ? 0 : performance.now();
    // The host's backend writes system messages: they belong to neither side, so both are their recipients.
    const side: MessageSide = isParticipant(caller) ? sideOf(caller.role) : 'system';
    // A message may be its files alone, and a system message its data alone (a quote card, say); otherwise it is text.
    const bare = attachmentIds.length > 0 || (side === 'system' && data !== undefined);
    const text = bare && body.trim() === '' ? '' : boundedText(body, 'body', this.limits.maxBodyChars);
    let attachments: Attachment[] | undefined;
    let release: (() => Promise<void>) | undefined;
    if (attachmentIds.length > 0) {
      if (!this.attachments) throw new ChatError('invalid', 'attachments: this server takes none');
      ({ attachments, release } = await this.attachments.claim(caller, room, attachmentIds, clientId));
    }
    // The recipients' publishing turns are taken now, in call order, before the store answers.
    const recipient: Side = side === 'system' ? 'workshop' : otherSide(side);
    const turn = this.#order.reserve(principalOfRoomSide(room, recipient));
    const ownerTurn = side === 'system' ? this.#order.reserve(principalOfRoomSide(room, 'user')) : null;
    let result: AppendResult;
    try {
      result = await this.store.appendMessage({
        request_id: room.id,
        sender: { id: caller.id, role: isParticipant(caller) ? caller.role : 'system', name: caller.name },
        side,
        body: text,
        // Before the spreads: a property after one is defined in V8's runtime, at every send.
        client_id: clientId,
        ...(data !== undefined && { data }),
        ...(attachments && { attachments }),
        ...(isParticipant(caller) && { holder: holderOf(caller) }),
      });
    } catch (error) {
      turn.skip();
      ownerTurn?.skip();
      // Refused for good (closed, reassigned): the uploads are free again for another send. After a
      // storage fault they stay claimed, for the retry with this client_id.
      if (release && (error instanceof RoomClosedError || error instanceof NotHolderError)) {
        await release().catch((err: unknown) => this.onBackgroundError(err, 'release attachments'));
      }
      throw refusalOf(error);
    }
    if (!result.created) {
      turn.skip();
      ownerTurn?.skip();
      return { ...result, message: this.#withUrls(result.message) };
    }
    this.metrics?.stored(side === 'system' ? 'system' : via, started);
    this.fanout.publish(roomGroup(room.id), {
      frame: messageFrame(result.message),
      seq: result.message.seq,
    });
    this.metrics?.broadcast(started);
    this.#notifyHolder(turn, room, recipient, result.recipient, result.message, result.recipient_unread);
    if (ownerTurn && result.owner_recipient) {
      const { recipient: owner, unread } = result.owner_recipient;
      this.#notifyHolder(ownerTurn, room, 'user', owner, result.message, unread);
    }
    return result;
  }

  /** Notifies the principal that held `side` when the message was stored (`holder`, from the append). */
  #notifyHolder(turn: PublishTurn, room: RoomRef, side: Side, holder: string | null, message: Message, counts: UnreadCounts): void {
    if (holder !== null && holder !== (side === 'user' ? room.user_id : room.workshop_id)) {
      // The room was reassigned after the caller's view of it was read: the notification and its
      // counts are the new holder's, never the old one's.
      turn.skip();
      const holders = side === 'user' ? { ...room, user_id: holder } : { ...room, workshop_id: holder };
      turn = this.#order.reserve(principalOfRoomSide(holders, side));
    }
    this.#notify(turn, message, counts);
  }

  /**
   * Counts come with the append, from the store's counters: a notification costs no query. It goes
   * out in the recipient's publishing order, at once unless a snapshot of theirs is still being read.
   */
  #notify(turn: PublishTurn, message: Message, counts: UnreadCounts): void {
    void turn.run((group) => {
      try {
        const frame = notificationFrame(message.request_id, message, preview(message.body), counts);
        this.fanout.publish(group, { frame });
      } catch (error) {
        // The message is stored and broadcast; a missed red dot is corrected by the next snapshot.
        this.onBackgroundError(error, 'notify');
      }
    });
  }

  markRead(identity: Identity, room: RoomRef, seq: number | null): Promise<ReadResult> {
    return this.#track(this.#markRead(identity, room, seq));
  }

  async #markRead(caller: Identity, room: RoomRef, seq: number | null): Promise<ReadResult> {
    // Read cursors are a side's; a service holds none, so its reading moves nothing.
    const identity = participant(caller, 'a service has no read cursor');
    const side = sideOf(identity.role);
    const { read_cursors, moved, reader_unread } = await this.store
      .advanceCursor(room.id, side, seq, holderOf(identity))
      .catch((error: unknown) => Promise.reject(refusalOf(error)));
    if (moved) {
      this.fanout.publish(roomGroup(room.id), {
        frame: readFrame(room.id, side, identity, read_cursors),
      });
      this.#snapshots.afterRead(principalOf(identity));
    }
    return { read_cursors, unread: reader_unread.count };
  }

  typing(identity: Participant, room: RoomRef, isTyping: boolean, socketId: string): void {
    this.fanout.publish(roomGroup(room.id), {
      frame: typingFrame(identity, isTyping),
      exceptSocket: socketId,
    });
  }

  /**
   * Everything stored about a person, for the host's backend, as pages read while the answer is
   * written: the rooms they own (with their unread), and every message they sent, in any role.
   */
  exportUser(
    identity: Identity,
    userId: string,
  ): { rooms: AsyncIterable<ExportedRoom[]>; messages: AsyncIterable<Message[]>; attachments: AsyncIterable<ExportedAttachment[]> } {
    if (isParticipant(identity)) throw new ChatError('forbidden', 'only the host\'s service can export a person\'s data');
    return { rooms: this.#ownedRooms(userId), messages: this.#exportedMessages(userId), attachments: this.#uploadsOf(userId) };
  }

  async *#exportedMessages(userId: string): AsyncIterable<Message[]> {
    for await (const page of this.store.exportMessages(userId)) yield this.attachments ? page.map((m) => this.#withUrls(m)) : page;
  }

  async *#uploadsOf(userId: string): AsyncIterable<ExportedAttachment[]> {
    const uploads = this.attachments ? await this.attachments.exportOf(userId) : [];
    if (uploads.length > 0) yield uploads;
  }

  /** The owner's inbox, page after page, without each row's last message (which may be the other side's). */
  async *#ownedRooms(userId: string): AsyncIterable<ExportedRoom[]> {
    let after: InboxCursor | null = null;
    do {
      const page: InboxPage = await this.store.listRooms({ side: 'user', userId }, { limit: MAX_PAGE, after });
      if (page.rooms.length > 0) yield page.rooms.map(({ last_message: _, ...room }) => room);
      after = page.next;
    } while (after !== null);
  }

  /**
   * Redacts every message the person sent, in every room and role, and tells each room's open chat
   * sockets (on every server) which seqs, part by part as the store commits them. Resolves with the
   * number this call redacted: a repeat finds none left, and redacts nothing.
   */
  eraseMessages(identity: Identity, userId: string): Promise<number> {
    if (isParticipant(identity)) return Promise.reject(new ChatError('forbidden', 'only the host\'s service can erase a person\'s messages'));
    return this.#track(this.#erase(userId));
  }

  /** The messages first, then the files they carried (and the person's unsent uploads): no message is left naming a file being removed. */
  async #erase(userId: string): Promise<number> {
    const redacted = await this.store.redactMessagesOf(userId, (part) => {
      for (const { request_id, seq } of part) this.fanout.publish(roomGroup(request_id), { frame: messageRedactedFrame(request_id, seq) });
    });
    await this.attachments?.eraseOf(userId);
    return redacted;
  }

  unread(identity: Identity): Promise<UnreadSnapshot> {
    return this.store.unread(principalOf(participant(identity, 'a service has no unread counts')));
  }

  /** Resolves once every send and read already accepted has finished, and the snapshots they owe are out. */
  async drain(): Promise<void> {
    do {
      this.#snapshots.flush();
      await Promise.allSettled([...this.#inFlight]);
    } while (this.#inFlight.size > 0);
  }

  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight.add(work);
    const forget = () => this.#inFlight.delete(work);
    work.then(forget, forget);
    return work;
  }
}
