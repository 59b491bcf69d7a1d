import mongoose, { type ClientSession, type Connection, type Model, Schema } from 'mongoose';
import type { Attachment } from '@motoreach/protocol';
import { storedAttachments } from '../attachments/refs.js';
import type { Message, MessageData, MessageSide, Principal, Room, RoomListing, RoomState, RoomStatus, Sender, Side, UnreadSnapshot } from '../chat/types.js';
import { otherSide } from '../chat/types.js';
import type { Logger } from '../logger.js';
import { isStoreUnavailable, NotHolderError, RoomClosedError, StoreUnavailableError } from './failures.js';
import { newId } from '../ids.js';
import { foldForSearch, searchKeys } from './search-keys.js';
import {
  type EventOutbox,
  type PendingEvent,
  type RecordedEvent,
  messageCreated,
  redactedEventBody,
  roomCreated,
  roomRead,
  roomUpdated,
  senderMention,
  unreadReminder,
} from '../webhooks/events.js';
import type {
  AppendResult,
  ChatStore,
  CursorResult,
  InboxPage,
  InboxQuery,
  MessagePage,
  NewMessage,
  NewRoom,
  PutResult,
  RedactedMessage,
  RoomPut,
  PageQuery,
  UnreadCounts,
} from './store.js';

export interface MongoStoreOptions {
  logger: Logger;
  /** Overrides the database named in the URI (tests use one database each). */
  dbName?: string;
  /** Record webhook events (WEBHOOK_URL is set): one more insert in each write's transaction. */
  events?: boolean;
}

interface RoomDoc {
  _id: string;
  user_id: string;
  workshop_id: string;
  title: string;
  created_at: string;
  /** Absent in rooms stored before contract 1.2: open, names unknown. */
  status?: RoomStatus;
  user_name?: string | null;
  workshop_name?: string | null;
  /** The inbox's order: the newest message's created_at, or the room's without one; never decreases. */
  last_activity: string;
  last_seq: number;
  user_cursor: number;
  workshop_cursor: number;
  /** A side's unread here: the other side's and system messages past this side's cursor, kept with each write. */
  user_unread: number;
  workshop_unread: number;
  /** What each side's inbox `q` matches, folded (search-keys.ts). */
  user_search: string;
  workshop_search: string;
  /** The order of the room's latest webhook event; absent until webhooks record one. */
  event_seq?: number;
  /** When each side's current unread began (null or absent: none since it last read; '': reminded). */
  user_unread_since?: string | null;
  workshop_unread_since?: string | null;
}

/** A webhook event (webhooks/events.ts), written in the transaction of the change it reports. */
interface EventDoc {
  /** Its webhook-id. */
  _id: string;
  request_id: string;
  /** Its place among the room's events: the room's event_seq, taken in the same transaction. */
  order: number;
  body: string;
  created_at: string;
  attempts: number;
  /** When the next attempt may start (ms since the epoch). */
  due_at: number;
  /** Until when a server holds it for an attempt (ms since the epoch); absent or past: nobody. */
  lease_until?: number;
}

interface MessageDoc {
  _id: string;
  request_id: string;
  seq: number;
  side: MessageSide;
  sender: Sender;
  body: string;
  /**
   * The message's data as its JSON text, as SQLite keeps it: returned exactly as given whatever its
   * keys (a `$` or `.` in a key, `__proto__`), and null or absent when the message carries none.
   */
  data?: string | null;
  /** The attachments' JSON text, without their signed URLs (attachments/refs.ts); absent when none. */
  attachments?: string;
  client_id: string | null;
  created_at: string;
  /** Set by an erasure; absent otherwise. */
  redacted?: true;
}

/** A principal's unread over all its rooms, so a notification's total is one document, whatever the inbox's size. */
interface UnreadTotalDoc {
  /** `user:<id>` or `workshop:<id>`. */
  _id: string;
  total: number;
}

// No `required` or `trim` anywhere: mongoose's `required` refuses '' and the
// store keeps what it is given verbatim, exactly like the SQLite store.
const roomSchema = new Schema<RoomDoc>(
  {
    _id: String,
    user_id: String,
    workshop_id: String,
    title: String,
    created_at: String,
    status: String,
    user_name: String,
    workshop_name: String,
    last_activity: String,
    last_seq: { type: Number, default: 0 },
    user_cursor: { type: Number, default: 0 },
    workshop_cursor: { type: Number, default: 0 },
    user_unread: { type: Number, default: 0 },
    workshop_unread: { type: Number, default: 0 },
    user_search: String,
    workshop_search: String,
    event_seq: Number,
    user_unread_since: String,
    workshop_unread_since: String,
  },
  { collection: 'rooms', versionKey: false, id: false },
);
// The sides waiting for a room.unread_reminder, and only those.
for (const side of ['user', 'workshop'] as const) {
  roomSchema.index(
    { [`${side}_unread_since`]: 1 },
    { name: `rooms_unread_since_${side}`, partialFilterExpression: { [`${side}_unread_since`]: { $gt: '' } } },
  );
}
// Keyset pages of a principal's inbox, newest activity first; their prefix also serves every lookup by principal.
roomSchema.index({ user_id: 1, last_activity: -1, _id: -1 }, { name: 'rooms_inbox_of_user' });
roomSchema.index({ workshop_id: 1, last_activity: -1, _id: -1 }, { name: 'rooms_inbox_of_workshop' });
// Only the rooms holding unread, in inbox order: a snapshot reads those, not every room the principal
// ever had, and an `unread=1` page reads only its own rows.
roomSchema.index(
  { user_id: 1, last_activity: -1, _id: -1 },
  { name: 'rooms_unread_inbox_of_user', partialFilterExpression: { user_unread: { $gt: 0 } } },
);
roomSchema.index(
  { workshop_id: 1, last_activity: -1, _id: -1 },
  { name: 'rooms_unread_inbox_of_workshop', partialFilterExpression: { workshop_unread: { $gt: 0 } } },
);

const messageSchema = new Schema<MessageDoc>(
  {
    _id: String,
    request_id: String,
    seq: Number,
    side: String,
    sender: { id: String, role: String, name: { type: String, default: null } },
    body: String,
    data: { type: String, default: undefined },
    attachments: { type: String, default: undefined },
    client_id: { type: String, default: null },
    created_at: String,
    redacted: Boolean,
  },
  { collection: 'messages', versionKey: false, id: false },
);
messageSchema.index({ request_id: 1, seq: 1 }, { name: 'messages_by_seq', unique: true });
messageSchema.index(
  // A sender is its side and its id: an owner and an admin may share an opaque id.
  { request_id: 1, side: 1, 'sender.id': 1, client_id: 1 },
  { name: 'messages_by_client_id', unique: true, partialFilterExpression: { client_id: { $type: 'string' } } },
);
// Counts what a cursor move passes of the other side's and system messages.
messageSchema.index({ request_id: 1, side: 1, seq: 1 }, { name: 'messages_by_side' });

const eventSchema = new Schema<EventDoc>(
  {
    _id: String,
    request_id: String,
    order: Number,
    body: String,
    created_at: String,
    attempts: { type: Number, default: 0 },
    due_at: { type: Number, default: 0 },
    lease_until: Number,
  },
  { collection: 'webhook_events', versionKey: false, id: false },
);
// Each room's events in order: the delivery loop reads each room's first.
eventSchema.index({ request_id: 1, order: 1 }, { name: 'webhook_events_by_room', unique: true });

const unreadTotalSchema = new Schema<UnreadTotalDoc>(
  { _id: String, total: { type: Number, default: 0 } },
  { collection: 'unread_totals', versionKey: false, id: false },
);

/**
 * Snapshot reads so the client_id check and the seq it guards see one state;
 * a majority commit so an acknowledged message survives a failover.
 */
const WRITE_TRANSACTION = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
} as const;

/** Keeps each `$or` of per-room clauses far below the 16 MiB command limit (an inbox page has at most 100). */
const ROOMS_PER_QUERY = 1000;

/** How long connect() keeps trying a setup that a lost connection or a failover interrupted. */
export const SETUP_RETRY_MS = 30_000;

const DUPLICATE_KEY = 11000;
const COMMAND_NOT_FOUND = 59;

const NO_COUNTS: UnreadCounts = { count: 0, total: 0 };

/** Messages of one sender per page of an export, and per update of an erasure. */
const SENDER_SCAN_BATCH = 500;

/** What an erasure writes: the message stays in its room's seq and counts, its content goes. */
const REDACTION = {
  $set: { body: '', 'sender.name': null, redacted: true },
  // Whatever content fields the message may carry (data, attachments), named in the schema or not.
  $unset: { data: '', attachments: '' },
};

function toRoom(doc: RoomDoc): Room {
  return {
    id: doc._id,
    user_id: doc.user_id,
    workshop_id: doc.workshop_id,
    title: doc.title,
    created_at: doc.created_at,
    status: doc.status ?? 'open',
    user_name: doc.user_name ?? null,
    workshop_name: doc.workshop_name ?? null,
  };
}

function toRoomState(doc: RoomDoc): RoomState {
  return {
    ...toRoom(doc),
    last_seq: doc.last_seq,
    read_cursors: { user: doc.user_cursor, workshop: doc.workshop_cursor },
  };
}

function toMessage(doc: MessageDoc): Message {
  return {
    id: doc._id,
    request_id: doc.request_id,
    seq: doc.seq,
    sender: { id: doc.sender.id, role: doc.sender.role, name: doc.sender.name ?? null },
    body: doc.body,
    ...(typeof doc.data === 'string' && { data: JSON.parse(doc.data) as MessageData }),
    client_id: doc.client_id ?? null,
    created_at: doc.created_at,
    ...(typeof doc.attachments === 'string' && { attachments: JSON.parse(doc.attachments) as Attachment[] }),
    ...(doc.redacted && { redacted: true as const }),
  };
}

function cursorField(side: Side): 'user_cursor' | 'workshop_cursor' {
  return side === 'user' ? 'user_cursor' : 'workshop_cursor';
}

function unreadField(side: Side): 'user_unread' | 'workshop_unread' {
  return side === 'user' ? 'user_unread' : 'workshop_unread';
}

/** The messages that count as unread for `side`: all but its own. */
function notOwn(side: Side): { $in: MessageSide[] } {
  return { $in: [otherSide(side), 'system'] };
}

function ownerField(side: Side): 'user_id' | 'workshop_id' {
  return side === 'user' ? 'user_id' : 'workshop_id';
}

function searchField(side: Side): 'user_search' | 'workshop_search' {
  return side === 'user' ? 'user_search' : 'workshop_search';
}

/** `text` as a regular expression matching itself. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function principalId(principal: Principal): string {
  return principal.side === 'user' ? principal.userId : principal.workshopId;
}

/** The unread_totals key of a room's principal on `side`. */
function totalKey(side: Side, room: Pick<RoomDoc, 'user_id' | 'workshop_id'>): string {
  return `${side}:${room[ownerField(side)]}`;
}

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += ROOMS_PER_QUERY) out.push(items.slice(i, i + ROOMS_PER_QUERY));
  return out;
}

function isDuplicateKey(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DUPLICATE_KEY;
}

/**
 * Refuses a standalone server: appends are multi-document transactions, which
 * MongoDB only runs on a replica set (one node is enough) or a sharded cluster.
 */
async function assertTransactionsSupported(conn: Connection): Promise<string> {
  const admin = conn.getClient().db('admin');
  let hello: { setName?: unknown; msg?: unknown };
  try {
    hello = await admin.command({ hello: 1 });
  } catch (error) {
    // Servers before 4.4.2 only know the legacy name of the command.
    if ((error as { code?: unknown }).code !== COMMAND_NOT_FOUND) throw error;
    hello = await admin.command({ isMaster: 1 });
  }
  if (typeof hello.setName === 'string') return `replica set ${hello.setName}`;
  if (hello.msg === 'isdbgrid') return 'sharded cluster';
  throw new Error(
    'MONGODB_URI points at a standalone MongoDB server, but the MongoDB store needs a replica set: every ' +
      'message is stored in a transaction, and MongoDB runs transactions only on replica sets. A single-node ' +
      'replica set is enough: start mongod with --replSet rs0, run rs.initiate() once, and add ' +
      '?replicaSet=rs0 to MONGODB_URI.',
  );
}

/**
 * The store for several servers sharing one database. Requires a replica set
 * (a single-node one is fine) or a sharded cluster: each append checks the
 * client_id, takes the room's next seq with `$inc`, inserts the message and
 * moves the recipient's unread counters in one transaction, so two servers
 * racing on one room never skip, repeat or double-store, and the counters
 * never drift from the messages. Within one process, appends and cursor moves
 * of a room run one after another, so they resolve in the order they were
 * called (the service publishes in resolution order).
 */
export class MongoStore implements ChatStore {
  readonly #conn: Connection;
  readonly #rooms: Model<RoomDoc>;
  readonly #messages: Model<MessageDoc>;
  readonly #totals: Model<UnreadTotalDoc>;
  readonly #events: Model<EventDoc>;
  /** Per room, the settlement of its latest write: the next one starts after it. */
  readonly #tails = new Map<string, Promise<void>>();
  #closing: Promise<void> | null = null;
  readonly outbox: EventOutbox | null;
  onCommit: ((seconds: number, writes: number) => void) | null = null;
  #onRecorded: (() => void) | null = null;

  private constructor(conn: Connection, events: boolean) {
    this.#conn = conn;
    this.#rooms = conn.model<RoomDoc>('Room', roomSchema);
    this.#messages = conn.model<MessageDoc>('Message', messageSchema);
    this.#totals = conn.model<UnreadTotalDoc>('UnreadTotal', unreadTotalSchema);
    this.#events = conn.model<EventDoc>('WebhookEvent', eventSchema);
    this.outbox = events ? this.#eventOutbox() : null;
  }

  /**
   * Connects a dedicated mongoose Connection (several stores can live in one
   * process), refuses a standalone server, creates the collections and
   * indexes before the first write (the unique indexes back the idempotency,
   * and transactions must not be the ones creating collections), drops the
   * indexes of earlier versions, and fills in the counters of rooms an
   * earlier version wrote. A step cut short by a lost connection or an
   * election (a server starting beside a restarting replica set) is tried
   * again, for up to 30 s.
   */
  static async connect(uri: string, options: MongoStoreOptions): Promise<MongoStore> {
    // Every step is idempotent: one cut short by a lost connection or an election runs again, on a new connection.
    for (let attempt = 0, deadline = Date.now() + SETUP_RETRY_MS; ; attempt++) {
      const conn = mongoose.createConnection(uri, {
        ...(options.dbName === undefined ? {} : { dbName: options.dbName }),
        // connect() creates them, one after another: see there.
        autoCreate: false,
        autoIndex: false,
        // Fail fast instead of queueing work behind a closed or lost connection.
        bufferCommands: false,
      });
      try {
        await conn.asPromise();
        return await MongoStore.#setUp(conn, options);
      } catch (error) {
        // The connect failure is the error worth reporting, not a failure to close after it.
        await conn.close().catch(() => undefined);
        if (!isStoreUnavailable(error) || Date.now() >= deadline) throw error;
        options.logger.warn({ err: error, attempt: attempt + 1 }, 'mongodb store: setup interrupted, trying again');
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 100 * 2 ** attempt)));
      }
    }
  }

  static async #setUp(conn: Connection, options: MongoStoreOptions): Promise<MongoStore> {
    const topology = await assertTransactionsSupported(conn);
    const store = new MongoStore(conn, options.events === true);
    // One collection at a time: racing creations of one collection (several servers starting) are
    // handled by the server, but there is no reason to race them within one process.
    await store.#rooms.createCollection();
    await store.#rooms.syncIndexes();
    await store.#messages.createCollection();
    await store.#messages.syncIndexes();
    await store.#totals.createCollection();
    await store.#events.createCollection();
    await store.#events.syncIndexes();
    const upgraded = await store.#upgradeRooms();
    if (upgraded > 0) options.logger.info({ rooms: upgraded }, 'mongodb store: unread counters filled in for rooms of an earlier version');
    const keyed = await store.#fillSearchKeys();
    if (keyed > 0) options.logger.info({ rooms: keyed }, 'mongodb store: inbox search keys filled in for rooms of an earlier version');
    options.logger.info({ db: conn.name, topology }, 'mongodb store ready');
    return store;
  }

  /**
   * Rooms written before the counters existed have no last_activity: count
   * their unread once, then rebuild the totals of the principals concerned.
   * Idempotent, so servers starting together may all run it.
   */
  async #upgradeRooms(): Promise<number> {
    const old = await this.#rooms.find({ last_activity: { $exists: false } }).lean<RoomDoc[]>();
    if (old.length === 0) return 0;
    const past = (room: RoomDoc, side: Side) =>
      this.#messages.countDocuments({ request_id: room._id, side: notOwn(side), seq: { $gt: room[cursorField(side)] } });
    for (const room of old) {
      const last = room.last_seq > 0 ? await this.#messages.findOne({ request_id: room._id, seq: room.last_seq }).lean<MessageDoc>() : null;
      await this.#rooms.updateOne(
        { _id: room._id, last_activity: { $exists: false } },
        {
          $set: {
            last_activity: last?.created_at ?? room.created_at,
            user_unread: await past(room, 'user'),
            workshop_unread: await past(room, 'workshop'),
          },
        },
      );
    }
    for (const side of ['user', 'workshop'] as const) {
      const owner = ownerField(side);
      const ids = [...new Set(old.map((room) => room[owner]))];
      const sums = await this.#rooms.aggregate<{ _id: string; total: number }>([
        { $match: { [owner]: { $in: ids } } },
        { $group: { _id: `$${owner}`, total: { $sum: `$${unreadField(side)}` } } },
      ]);
      for (const { _id, total } of sums) {
        await this.#totals.updateOne({ _id: `${side}:${_id}` }, { $set: { total } }, { upsert: true });
      }
    }
    return old.length;
  }

  /** Rooms written before the inbox's `q` existed have no search keys: fold them once. Idempotent. */
  async #fillSearchKeys(): Promise<number> {
    const old = await this.#rooms
      .find({ user_search: { $exists: false } }, { title: 1, user_name: 1, workshop_name: 1 })
      .lean<Pick<RoomDoc, '_id' | 'title' | 'user_name' | 'workshop_name'>[]>();
    for (const part of chunks(old)) {
      await this.#rooms.bulkWrite(
        part.map((room) => ({ updateOne: { filter: { _id: room._id }, update: { $set: searchKeys(room) } } })),
        { ordered: false },
      );
    }
    return old.length;
  }

  async createRoom(input: NewRoom): Promise<Room> {
    const room: Room = {
      id: newId('r'),
      user_id: input.user_id,
      workshop_id: input.workshop_id,
      title: input.title,
      created_at: new Date().toISOString(),
      status: 'open',
      user_name: null,
      workshop_name: null,
    };
    await this.#ensureTotals(room);
    const doc = {
      _id: room.id,
      user_id: room.user_id,
      workshop_id: room.workshop_id,
      title: room.title,
      created_at: room.created_at,
      last_activity: room.created_at,
      last_seq: 0,
      user_cursor: 0,
      workshop_cursor: 0,
      user_unread: 0,
      workshop_unread: 0,
      ...searchKeys(room),
    };
    if (!this.outbox) {
      await this.#rooms.create(doc);
      return room;
    }
    await this.#transaction(async (session) => {
      await this.#rooms.create([{ ...doc, event_seq: 1 }], { session });
      await this.#record(session, 1, roomCreated({ ...room, last_seq: 0, read_cursors: { user: 0, workshop: 0 } }));
    });
    this.#onRecorded?.();
    return room;
  }

  /** Part of a write's transaction: the event takes its place `order` in its room. */
  async #record(session: ClientSession, order: number, event: RecordedEvent): Promise<void> {
    await this.#events.create([{ _id: event.id, request_id: event.request_id, order, body: event.body, created_at: event.created_at }], { session });
  }

  #eventOutbox(): EventOutbox {
    return {
      due: async (now, limit, busy, leaseUntil) => {
        const free = { $not: { $gt: now } };
        // Each room's first event (the index's order), if it is due and no server holds it, oldest first.
        const heads = await this.#events.aggregate<EventDoc>([
          { $sort: { request_id: 1, order: 1 } },
          { $group: { _id: '$request_id', head: { $first: '$$ROOT' } } },
          { $replaceRoot: { newRoot: '$head' } },
          { $match: { due_at: { $lte: now }, lease_until: free, request_id: { $nin: [...busy] } } },
          { $sort: { created_at: 1, _id: 1 } },
          { $limit: limit },
        ]);
        const leased: EventDoc[] = [];
        for (const doc of heads) {
          // Of servers racing for it, the first one's lease makes the others' filter fail.
          const taken = await this.#events.updateOne({ _id: doc._id, lease_until: free }, { $set: { lease_until: leaseUntil } });
          if (taken.modifiedCount === 1) leased.push(doc);
        }
        return leased.map(
          (doc): PendingEvent => ({ id: doc._id, request_id: doc.request_id, position: doc.order, body: doc.body, created_at: doc.created_at, attempts: doc.attempts }),
        );
      },
      remove: async (event) => {
        await this.#events.deleteOne({ _id: event.id });
      },
      retryAt: async (event, attempts, dueAt) => {
        await this.#events.updateOne({ _id: event.id }, { $set: { attempts, due_at: dueAt }, $unset: { lease_until: '' } });
      },
      deliveryOffFor: async () => {
        const state = await this.#events.db.collection<{ _id: string; fingerprint: string }>('webhook_state').findOne({ _id: 'delivery_off' });
        return state?.fingerprint ?? null;
      },
      turnDeliveryOff: async (fingerprint) => {
        await this.#events.db
          .collection<{ _id: string; fingerprint: string }>('webhook_state')
          .updateOne({ _id: 'delivery_off' }, { $set: { fingerprint } }, { upsert: true });
      },
      backlog: async () => {
        const count = await this.#events.estimatedDocumentCount();
        const oldest = count === 0 ? null : await this.#events.findOne({}, { created_at: 1 }).sort({ created_at: 1 }).lean<Pick<EventDoc, 'created_at'>>();
        return { count, oldest: oldest?.created_at ?? null };
      },
      onRecorded: (listener) => {
        this.#onRecorded = listener;
      },
      remindUnread: async (before, connected) => {
        let recorded = 0;
        for (const side of ['user', 'workshop'] as const) {
          const field = `${side}_unread_since` as const;
          const waiting = await this.#rooms
            .find({ [field]: { $gt: '', $lte: before } }, { _id: 1, [field]: 1 })
            .limit(200)
            .lean<RoomDoc[]>();
          for (const { _id, [field]: since } of waiting) {
            // Marked reminded only if still waiting as read: of servers racing, one records it.
            const reminded = await this.#transaction(async (session) => {
              const doc = await this.#rooms
                .findOneAndUpdate({ _id, [field]: since }, { $set: { [field]: '' }, $inc: { event_seq: 1 } }, { session, returnDocument: 'before' })
                .lean<RoomDoc>();
              if (!doc) return false;
              const unread = doc[unreadField(side)];
              if (unread <= 0) return false;
              const oldest = await this.#messages
                .findOne({ request_id: _id, side: notOwn(side), seq: { $gt: doc[cursorField(side)] } })
                .sort({ seq: 1 })
                .session(session)
                .lean<MessageDoc>();
              const room = toRoomState(doc);
              const principal: Principal = side === 'user' ? { side, userId: room.user_id } : { side, workshopId: room.workshop_id };
              const event = unreadReminder(room, side, unread, oldest ? toMessage(oldest) : null, since as string, connected(principal));
              await this.#record(session, (doc.event_seq ?? 0) + 1, event);
              return true;
            });
            if (reminded) recorded++;
          }
        }
        if (recorded > 0) this.#onRecorded?.();
        return recorded;
      },
    };
  }

  /** After a write that may have recorded an event: the delivery loop looks (a look that finds nothing costs one read). */
  #recorded<T>(write: Promise<T>): Promise<T> {
    if (!this.outbox) return write;
    return write.then((result) => {
      this.#onRecorded?.();
      return result;
    });
  }

  /** The totals exist before any transaction moves them: an upsert inside racing transactions could fail on the key. */
  async #ensureTotals(room: Pick<RoomDoc, 'user_id' | 'workshop_id'>): Promise<void> {
    await this.#totals.bulkWrite(
      (['user', 'workshop'] as const).map((side) => ({
        updateOne: { filter: { _id: totalKey(side, room) }, update: { $setOnInsert: { total: 0 } }, upsert: true },
      })),
      { ordered: false },
    );
  }

  /**
   * An insert that only a new id passes, then an update that only the same owner and workshop
   * match: of racing puts (on any server) one creates and the others update, with no transaction.
   */
  async putRoom(input: RoomPut): Promise<PutResult> {
    const { id, user_id, workshop_id, title } = input;
    const changes = {
      title,
      ...(input.status !== undefined && { status: input.status }),
      ...(input.user_name !== undefined && { user_name: input.user_name }),
      ...(input.workshop_name !== undefined && { workshop_name: input.workshop_name }),
    };
    if (!(await this.#rooms.exists({ _id: id }))) {
      await this.#ensureTotals(input);
      const created_at = new Date().toISOString();
      try {
        const fields = {
          _id: id,
          user_id,
          workshop_id,
          title,
          created_at,
          status: input.status ?? 'open',
          user_name: input.user_name ?? null,
          workshop_name: input.workshop_name ?? null,
          ...searchKeys({ title, user_name: input.user_name ?? null, workshop_name: input.workshop_name ?? null }),
          last_activity: created_at,
          last_seq: 0,
          user_cursor: 0,
          workshop_cursor: 0,
          user_unread: 0,
          workshop_unread: 0,
        };
        if (!this.outbox) {
          const doc = await this.#rooms.create(fields);
          return { outcome: 'created', room: toRoomState(doc.toObject<RoomDoc>()) };
        }
        const room = toRoomState(fields as RoomDoc);
        await this.#transaction(async (session) => {
          await this.#rooms.create([{ ...fields, event_seq: 1 }], { session });
          await this.#record(session, 1, roomCreated(room));
        });
        this.#onRecorded?.();
        return { outcome: 'created', room };
      } catch (error) {
        // Another put created it first: this one updates it.
        if (!isDuplicateKey(error)) throw error;
      }
    }
    await this.#ensureTotals(input);
    const before = await this.#transaction(async (session) => {
      const doc = await this.#rooms
        .findOneAndUpdate(
          { _id: id, user_id },
          { $set: { ...changes, workshop_id }, ...(this.outbox && { $inc: { event_seq: 1 } }) },
          { new: false, session },
        )
        .lean<RoomDoc>();
      const event = doc && this.outbox ? roomUpdated({ ...toRoomState(doc), ...changes, workshop_id }, toRoomState(doc)) : null;
      if (doc && event) await this.#record(session, (doc.event_seq ?? 0) + 1, event);
      // What q matches follows the title and the names, a name left out of the put being the stored one.
      if (doc) await this.#rooms.updateOne({ _id: id }, { $set: searchKeys({ ...doc, ...changes }) }, { session });
      // A reassignment: the workshop side's unread here leaves the old workshop's total for the new one's.
      if (doc && doc.workshop_id !== workshop_id && doc.workshop_unread > 0) {
        await this.#moveTotal(session, totalKey('workshop', doc), -doc.workshop_unread);
        await this.#moveTotal(session, totalKey('workshop', input), doc.workshop_unread);
      }
      return doc;
    });
    if (before) {
      if (this.outbox) this.#onRecorded?.();
      const room = toRoomState(before);
      return { outcome: 'updated', room: { ...room, ...changes, workshop_id }, before: room };
    }
    const stored = await this.#rooms.findById(id).lean<RoomDoc>();
    if (!stored) throw new Error(`room ${id} vanished during a put`);
    return { outcome: 'moved', room: toRoomState(stored) };
  }

  async getRoom(id: string): Promise<RoomState | null> {
    const doc = await this.#rooms.findById(id).lean<RoomDoc>();
    return doc ? toRoomState(doc) : null;
  }

  async listRooms(principal: Principal, query: InboxQuery): Promise<InboxPage> {
    const owner = ownerField(principal.side);
    const after = query.after;
    const unread = unreadField(principal.side);
    const docs = await this.#rooms
      .find({
        [owner]: principalId(principal),
        ...(after
          ? { $or: [{ last_activity: { $lt: after.last_activity } }, { last_activity: after.last_activity, _id: { $lt: after.id } }] }
          : {}),
        // The partial index's own condition, so the planner may use it.
        ...(query.unread && { [unread]: { $gt: 0 } }),
        // Matched on the documents the index walk fetches: a page reads its rows and the non-matching ones between them.
        ...(query.q !== undefined && { [searchField(principal.side)]: { $regex: literal(foldForSearch(query.q)) } }),
      })
      .sort({ last_activity: -1, _id: -1 })
      .limit(query.limit + 1)
      .hint(`${query.unread ? 'rooms_unread_inbox_of_' : 'rooms_inbox_of_'}${principal.side}`)
      .lean<RoomDoc[]>();
    const page = docs.slice(0, query.limit);
    const last = await this.#lastMessages(page);
    const rooms: RoomListing[] = page.map((doc) => ({
      ...toRoomState(doc),
      unread: doc[unread],
      last_message: last.get(doc._id) ?? null,
    }));
    const lastRow = page.at(-1);
    return { rooms, next: docs.length > query.limit && lastRow ? { last_activity: lastRow.last_activity, id: lastRow._id } : null };
  }

  appendMessage(input: NewMessage): Promise<AppendResult> {
    return this.#recorded(this.#inTurn(input.request_id, () => this.#append(input)));
  }

  advanceCursor(requestId: string, side: Side, seq: number | null, holder?: string): Promise<CursorResult> {
    return this.#recorded(
      this.#inTurn(requestId, () => this.#transaction((session) => this.#moveCursorIn(session, requestId, side, seq, holder))),
    );
  }

  /** Runs `write` after the room's earlier writes settle, so a room's writes resolve in call order. */
  #inTurn<T>(roomId: string, write: () => Promise<T>): Promise<T> {
    if (this.#closing) return Promise.reject(new StoreUnavailableError('store is closed'));
    const previous = this.#tails.get(roomId) ?? Promise.resolve();
    const result = previous.then(write);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(roomId, tail);
    void tail.then(() => {
      if (this.#tails.get(roomId) === tail) this.#tails.delete(roomId);
    });
    return result;
  }

  async #transaction<T>(body: (session: ClientSession) => Promise<T>): Promise<T> {
    const session = await this.#conn.startSession();
    try {
      const started = this.onCommit === null ? 0 : performance.now();
      const result = await session.withTransaction(() => body(session), WRITE_TRANSACTION);
      // One write per transaction here: MongoDB's are not batched.
      this.onCommit?.((performance.now() - started) / 1000, 1);
      return result;
    } finally {
      await session.endSession();
    }
  }

  async #append(input: NewMessage): Promise<AppendResult> {
    try {
      return await this.#transaction((session) => this.#appendIn(session, input));
    } catch (error) {
      // Another server committed the same client_id between our check and our insert.
      if (input.client_id !== null && isDuplicateKey(error)) {
        const stored = await this.#byClientId(input, null);
        if (stored) return { message: toMessage(stored), created: false, recipient_unread: NO_COUNTS, recipient: null };
      }
      throw error;
    }
  }

  /** The body of the append transaction; the driver reruns it whole on a transient error (a write conflict). */
  async #appendIn(session: ClientSession, input: NewMessage): Promise<AppendResult> {
    if (input.client_id !== null) {
      const stored = await this.#byClientId(input, session);
      if (stored) return { message: toMessage(stored), created: false, recipient_unread: NO_COUNTS, recipient: null };
    }
    // A system message is unread for both sides: the workshop's is then `recipient`, and the owner's too.
    const system = input.side === 'system';
    const recipient: Side = input.side === 'system' ? 'workshop' : otherSide(input.side);
    const unread = unreadField(recipient);
    const now = new Date().toISOString();
    const room = await this.#rooms
      .findOneAndUpdate(
        // Rooms stored before contract 1.2 have no status: open.
        {
          _id: input.request_id,
          status: { $ne: 'closed' },
          ...(input.holder !== undefined && input.side !== 'system' && { [ownerField(input.side)]: input.holder }),
        },
        [
          {
            $set: {
              last_seq: { $add: ['$last_seq', 1] },
              [unread]: { $add: [`$${unread}`, 1] },
              ...(system && { user_unread: { $add: ['$user_unread', 1] } }),
              ...(this.outbox && {
                event_seq: { $add: [{ $ifNull: ['$event_seq', 0] }, 1] },
                // An unread episode begins for the recipients that had none.
                ...(input.side !== 'user' && { user_unread_since: { $ifNull: ['$user_unread_since', { $literal: now }] } }),
                ...(input.side !== 'workshop' && { workshop_unread_since: { $ifNull: ['$workshop_unread_since', { $literal: now }] } }),
              }),
              // A clock that steps back must not move a room down the inbox.
              last_activity: { $max: ['$last_activity', { $literal: now }] },
            },
          },
        ],
        {
          session,
          returnDocument: 'after',
          updatePipeline: true,
          projection: { last_seq: 1, user_id: 1, workshop_id: 1, user_unread: 1, workshop_unread: 1, event_seq: 1 },
        },
      )
      .lean<Pick<RoomDoc, '_id' | 'last_seq' | 'user_id' | 'workshop_id' | 'user_unread' | 'workshop_unread' | 'event_seq'>>();
    if (!room) {
      const stored = await this.#rooms.findById(input.request_id, { status: 1 }).session(session).lean<Pick<RoomDoc, 'status'>>();
      if (!stored) throw new Error(`no such room: ${input.request_id}`);
      if (stored.status === 'closed') throw new RoomClosedError(`room ${input.request_id} is closed`);
      throw new NotHolderError(`room ${input.request_id} is no longer held by ${input.holder}`);
    }
    const message: Message = {
      id: newId('m'),
      request_id: input.request_id,
      seq: room.last_seq,
      sender: { id: input.sender.id, role: input.sender.role, name: input.sender.name },
      body: input.body,
      ...(input.data !== undefined && { data: input.data }),
      client_id: input.client_id,
      created_at: now,
      ...(input.attachments !== undefined && { attachments: input.attachments }),
    };
    // One after another: a session runs one operation at a time.
    await this.#messages.create(
      [
        {
          _id: message.id,
          request_id: message.request_id,
          seq: message.seq,
          side: input.side,
          sender: message.sender,
          body: message.body,
          ...(input.data !== undefined && { data: JSON.stringify(input.data) }),
          ...(input.attachments !== undefined && { attachments: storedAttachments(input.attachments) }),
          client_id: message.client_id,
          created_at: message.created_at,
        },
      ],
      { session },
    );
    if (this.outbox) await this.#record(session, room.event_seq as number, messageCreated(message));
    const total = await this.#moveTotal(session, totalKey(recipient, room), 1);
    const result: AppendResult = { message, created: true, recipient_unread: { count: room[unread], total }, recipient: room[ownerField(recipient)] };
    if (system) {
      const ownerTotal = await this.#moveTotal(session, totalKey('user', room), 1);
      result.owner_recipient = { unread: { count: room.user_unread, total: ownerTotal }, recipient: room.user_id };
    }
    return result;
  }

  /**
   * Adds `n` to a principal's total inside `session`. createRoom made the
   * document, so racing transactions never both insert it; the upsert only
   * heals a total lost by hand.
   */
  async #moveTotal(session: ClientSession, key: string, n: number): Promise<number> {
    const doc = await this.#totals
      .findOneAndUpdate({ _id: key }, { $inc: { total: n } }, { session, returnDocument: 'after', upsert: true })
      .lean<UnreadTotalDoc>();
    return doc!.total;
  }

  #byClientId(input: NewMessage, session: ClientSession | null): Promise<MessageDoc | null> {
    return this.#messages
      .findOne({ request_id: input.request_id, side: input.side, 'sender.id': input.sender.id, client_id: input.client_id })
      .session(session)
      .lean<MessageDoc>();
  }

  async listMessages(requestId: string, query: PageQuery): Promise<MessagePage> {
    const lower = query.after ?? 0;
    const upper = query.before ?? Number.MAX_SAFE_INTEGER;
    const ascending = query.after !== undefined;
    const docs = await this.#messages
      .find({ request_id: requestId, seq: { $gt: lower, $lt: upper } })
      .sort({ seq: ascending ? 1 : -1 })
      .limit(query.limit + 1)
      .lean<MessageDoc[]>();
    const has_more = docs.length > query.limit;
    const page = docs.slice(0, query.limit).map(toMessage);
    return { messages: ascending ? page : page.reverse(), has_more };
  }

  /**
   * The body of the cursor transaction: the other side's messages the cursor
   * passes come off the reader's counters; a concurrent append to the room
   * is a write conflict, and the driver reruns the whole body.
   */
  async #moveCursorIn(
    session: ClientSession,
    requestId: string,
    side: Side,
    seq: number | null,
    holder: string | undefined,
  ): Promise<CursorResult> {
    const room = await this.#rooms.findById(requestId).session(session).lean<RoomDoc>();
    if (!room) throw new Error(`no such room: ${requestId}`);
    // A reassignment that commits after this read conflicts with the cursor's write: the driver reruns this.
    if (holder !== undefined && room[ownerField(side)] !== holder) throw new NotHolderError(`room ${requestId} is no longer held by ${holder}`);
    const cursor = cursorField(side);
    const unread = unreadField(side);
    const from = room[cursor];
    const to = Math.min(seq ?? Number.MAX_SAFE_INTEGER, room.last_seq);
    const key = totalKey(side, room);
    if (to <= from) {
      const total = await this.#totals.findById(key).session(session).lean<UnreadTotalDoc>();
      return {
        read_cursors: { user: room.user_cursor, workshop: room.workshop_cursor },
        moved: false,
        reader_unread: { count: room[unread], total: total?.total ?? 0 },
      };
    }
    const read = await this.#messages
      .countDocuments({ request_id: requestId, side: notOwn(side), seq: { $gt: from, $lte: to } })
      .session(session);
    await this.#rooms.updateOne(
      { _id: requestId },
      {
        $set: { [cursor]: to, ...(this.outbox && { [`${side}_unread_since`]: null }) },
        $inc: { [unread]: -read, ...(this.outbox && { event_seq: 1 }) },
      },
      { session },
    );
    const total = await this.#moveTotal(session, key, -read);
    const moved = { ...room, [cursor]: to };
    const read_cursors = { user: moved.user_cursor, workshop: moved.workshop_cursor };
    if (this.outbox) await this.#record(session, (room.event_seq ?? 0) + 1, roomRead(requestId, side, read_cursors, room[unread] - read));
    return {
      read_cursors,
      moved: true,
      reader_unread: { count: room[unread] - read, total },
    };
  }

  async unread(principal: Principal): Promise<UnreadSnapshot> {
    const field = unreadField(principal.side);
    const docs = await this.#rooms
      .find({ [ownerField(principal.side)]: principalId(principal), [field]: { $gt: 0 } }, { [field]: 1 })
      .hint(`rooms_unread_inbox_of_${principal.side}`)
      .lean<Pick<RoomDoc, '_id' | 'user_unread' | 'workshop_unread'>[]>();
    const rooms: Record<string, number> = {};
    let total = 0;
    for (const doc of docs) {
      rooms[doc._id] = doc[field];
      total += doc[field];
    }
    return { total, rooms };
  }

  async *exportMessages(senderId: string): AsyncIterable<Message[]> {
    // No sort: without an index by sender, sorting would hold every match in the server's memory.
    const cursor = this.#messages.find({ 'sender.id': senderId }).lean<MessageDoc[]>().cursor({ batchSize: SENDER_SCAN_BATCH });
    let page: Message[] = [];
    for await (const doc of cursor as AsyncIterable<MessageDoc>) {
      page.push(toMessage(doc));
      if (page.length < SENDER_SCAN_BATCH) continue;
      yield page;
      page = [];
    }
    if (page.length > 0) yield page;
  }

  /**
   * The documents themselves are updated (what the oplog and backups still hold is in
   * docs/reference-server.md). No transaction: each batch is one update, repeated safely.
   */
  async redactMessagesOf(senderId: string, onRedacted: (part: RedactedMessage[]) => void): Promise<number> {
    if (this.#closing) throw new StoreUnavailableError('store is closed');
    const pending = { 'sender.id': senderId, redacted: { $ne: true as const } };
    const cursor = this.#messages
      .find(pending, { request_id: 1, seq: 1 })
      .lean<Pick<MessageDoc, '_id' | 'request_id' | 'seq'>[]>()
      .cursor({ batchSize: SENDER_SCAN_BATCH });
    let count = 0;
    let batch: Pick<MessageDoc, '_id' | 'request_id' | 'seq'>[] = [];
    const redact = async () => {
      const result = await this.#messages.updateMany({ _id: { $in: batch.map((doc) => doc._id) }, ...pending }, REDACTION, {
        strict: false,
        writeConcern: { w: 'majority' },
      });
      // Fewer when an erasure on another server redacted some first; their frames go out twice, harmlessly.
      count += result.modifiedCount;
      onRedacted(batch.map(({ request_id, seq }) => ({ request_id, seq })));
      batch = [];
    };
    for await (const doc of cursor as AsyncIterable<Pick<MessageDoc, '_id' | 'request_id' | 'seq'>>) {
      batch.push(doc);
      if (batch.length === SENDER_SCAN_BATCH) await redact();
    }
    if (batch.length > 0) await redact();
    await this.#redactEventsOf(senderId);
    return count;
  }

  /** Events waiting for delivery carry messages in full: they go out redacted too. A scan: few wait. */
  async #redactEventsOf(senderId: string): Promise<void> {
    const waiting = this.#events.find({ body: { $regex: literal(senderMention(senderId)) } }, { body: 1 }).lean<Pick<EventDoc, '_id' | 'body'>[]>();
    for (const event of await waiting) {
      const body = redactedEventBody(event.body, senderId);
      // Matched on the old body too: a delivery that removed the event meanwhile is left alone.
      if (body !== null) await this.#events.updateOne({ _id: event._id, body: event.body }, { $set: { body } }, { writeConcern: { w: 'majority' } });
    }
  }

  /** A room's last message is the one with its last_seq: both are written in one transaction. */
  async #lastMessages(rooms: RoomDoc[]): Promise<Map<string, Message>> {
    const clauses = rooms.filter((room) => room.last_seq > 0).map((room) => ({ request_id: room._id, seq: room.last_seq }));
    const last = new Map<string, Message>();
    for (const part of chunks(clauses)) {
      const docs = await this.#messages.find({ $or: part }).lean<MessageDoc[]>();
      for (const doc of docs) last.set(doc.request_id, toMessage(doc));
    }
    return last;
  }

  /** Lets accepted writes finish, then closes this store's own connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(this.#tails.values());
      await this.#conn.close();
    })();
    return this.#closing;
  }
}
