import mongoose, { type ClientSession, type Connection, type Model, Schema } from 'mongoose';
import type { Message, Principal, Room, RoomListing, RoomState, Sender, Side, UnreadSnapshot } from '../chat/types.js';
import { otherSide } from '../chat/types.js';
import type { Logger } from '../logger.js';
import { StoreUnavailableError } from './failures.js';
import { newId } from './ids.js';
import type {
  AppendResult,
  ChatStore,
  CursorResult,
  InboxPage,
  InboxQuery,
  MessagePage,
  NewMessage,
  NewRoom,
  PageQuery,
  UnreadCounts,
} from './store.js';

/** Set on the append result after its transaction (the recipient's counts are read outside it). */
const NO_COUNTS: UnreadCounts = { count: 0, total: 0 };

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export interface MongoStoreOptions {
  logger: Logger;
  /** Overrides the database named in the URI (tests use one database each). */
  dbName?: string;
}

interface RoomDoc {
  _id: string;
  user_id: string;
  workshop_id: string;
  title: string;
  created_at: string;
  last_seq: number;
  user_cursor: number;
  workshop_cursor: number;
}

interface MessageDoc {
  _id: string;
  request_id: string;
  seq: number;
  side: Side;
  sender: Sender;
  body: string;
  client_id: string | null;
  created_at: string;
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
    last_seq: { type: Number, default: 0 },
    user_cursor: { type: Number, default: 0 },
    workshop_cursor: { type: Number, default: 0 },
  },
  { collection: 'rooms', versionKey: false, id: false },
);
// created_at in the key gives listRooms its order without a sort in memory.
roomSchema.index({ user_id: 1, created_at: 1 }, { name: 'rooms_by_user' });
roomSchema.index({ workshop_id: 1, created_at: 1 }, { name: 'rooms_by_workshop' });

const messageSchema = new Schema<MessageDoc>(
  {
    _id: String,
    request_id: String,
    seq: Number,
    side: String,
    sender: { id: String, role: String, name: { type: String, default: null } },
    body: String,
    client_id: { type: String, default: null },
    created_at: String,
  },
  { collection: 'messages', versionKey: false, id: false },
);
messageSchema.index({ request_id: 1, seq: 1 }, { name: 'messages_by_seq', unique: true });
messageSchema.index(
  // A sender is its side and its id: an owner and an admin may share an opaque id.
  { request_id: 1, side: 1, 'sender.id': 1, client_id: 1 },
  { name: 'messages_by_client_id', unique: true, partialFilterExpression: { client_id: { $type: 'string' } } },
);
messageSchema.index({ request_id: 1, side: 1, seq: 1 }, { name: 'messages_by_side' });

/**
 * Snapshot reads so the client_id check and the seq it guards see one state;
 * a majority commit so an acknowledged message survives a failover.
 */
const APPEND_TRANSACTION = {
  readConcern: { level: 'snapshot' },
  writeConcern: { w: 'majority' },
  readPreference: 'primary',
} as const;

/** Keeps each `$or` of per-room clauses far below the 16 MiB command limit. */
const ROOMS_PER_QUERY = 1000;

const DUPLICATE_KEY = 11000;
const COMMAND_NOT_FOUND = 59;

function toRoom(doc: RoomDoc): Room {
  return {
    id: doc._id,
    user_id: doc.user_id,
    workshop_id: doc.workshop_id,
    title: doc.title,
    created_at: doc.created_at,
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
    client_id: doc.client_id ?? null,
    created_at: doc.created_at,
  };
}

function cursorField(side: Side): 'user_cursor' | 'workshop_cursor' {
  return side === 'user' ? 'user_cursor' : 'workshop_cursor';
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
 * client_id, takes the room's next seq with `$inc` and inserts the message in
 * one transaction, so two servers racing on one room never skip, repeat or
 * double-store. Within one process, appends to a room run one after another,
 * so they resolve in seq order (the service publishes in resolution order).
 */
export class MongoStore implements ChatStore {
  readonly #conn: Connection;
  readonly #rooms: Model<RoomDoc>;
  readonly #messages: Model<MessageDoc>;
  /** Per room, the settlement of its latest append: the next one starts after it. */
  readonly #tails = new Map<string, Promise<void>>();
  #closing: Promise<void> | null = null;

  private constructor(conn: Connection) {
    this.#conn = conn;
    this.#rooms = conn.model<RoomDoc>('Room', roomSchema);
    this.#messages = conn.model<MessageDoc>('Message', messageSchema);
  }

  /**
   * Connects a dedicated mongoose Connection (several stores can live in one
   * process), refuses a standalone server, and creates the collections and
   * indexes before the first write: the unique indexes back the idempotency,
   * and transactions must not be the ones creating collections.
   */
  static async connect(uri: string, options: MongoStoreOptions): Promise<MongoStore> {
    const conn = mongoose.createConnection(uri, {
      ...(options.dbName === undefined ? {} : { dbName: options.dbName }),
      autoCreate: true,
      autoIndex: true,
      // Fail fast instead of queueing work behind a closed or lost connection.
      bufferCommands: false,
    });
    try {
      await conn.asPromise();
      const topology = await assertTransactionsSupported(conn);
      const store = new MongoStore(conn);
      await Promise.all([store.#rooms.init(), store.#messages.init()]);
      options.logger.info({ db: conn.name, topology }, 'mongodb store ready');
      return store;
    } catch (error) {
      // The connect failure is the error worth reporting, not a failure to close after it.
      await conn.close().catch(() => undefined);
      throw error;
    }
  }

  async createRoom(input: NewRoom): Promise<Room> {
    const room: Room = {
      id: newId('r'),
      user_id: input.user_id,
      workshop_id: input.workshop_id,
      title: input.title,
      created_at: new Date().toISOString(),
    };
    await this.#rooms.create({
      _id: room.id,
      user_id: room.user_id,
      workshop_id: room.workshop_id,
      title: room.title,
      created_at: room.created_at,
      last_seq: 0,
      user_cursor: 0,
      workshop_cursor: 0,
    });
    return room;
  }

  async getRoom(id: string): Promise<RoomState | null> {
    const doc = await this.#rooms.findById(id).lean<RoomDoc>();
    return doc ? toRoomState(doc) : null;
  }

  // Interim, until counters and an activity index land here: correct, but reads every room of the principal.
  async listRooms(principal: Principal, query: InboxQuery): Promise<InboxPage> {
    const rooms = await this.#roomsOf(principal);
    const [unread, last] = await Promise.all([this.#unreadCounts(principal, rooms), this.#lastMessages(rooms)]);
    const keyed = rooms
      .map((doc) => ({ doc, last_activity: last.get(doc._id)?.created_at ?? doc.created_at }))
      .sort((a, b) => (a.last_activity === b.last_activity ? cmp(b.doc._id, a.doc._id) : cmp(b.last_activity, a.last_activity)));
    const after = query.after;
    const rest = after
      ? keyed.filter((k) => k.last_activity < after.last_activity || (k.last_activity === after.last_activity && k.doc._id < after.id))
      : keyed;
    const page = rest.slice(0, query.limit);
    const lastRow = page.at(-1);
    return {
      rooms: page.map(({ doc }) => ({
        ...toRoomState(doc),
        unread: unread.get(doc._id) ?? 0,
        last_message: last.get(doc._id) ?? null,
      })),
      next: rest.length > query.limit && lastRow ? { last_activity: lastRow.last_activity, id: lastRow.doc._id } : null,
    };
  }

  async #countsOf(principal: Principal, requestId: string): Promise<UnreadCounts> {
    const snapshot = await this.unread(principal);
    return { count: snapshot.rooms[requestId] ?? 0, total: snapshot.total };
  }

  appendMessage(input: NewMessage): Promise<AppendResult> {
    if (this.#closing) return Promise.reject(new StoreUnavailableError('store is closed'));
    const roomId = input.request_id;
    const previous = this.#tails.get(roomId) ?? Promise.resolve();
    const result = previous.then(() => this.#append(input));
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

  async #append(input: NewMessage): Promise<AppendResult> {
    const session = await this.#conn.startSession();
    try {
      const result = await session.withTransaction(() => this.#appendIn(session, input), APPEND_TRANSACTION);
      if (!result.created) return result;
      const room = await this.#rooms.findById(input.request_id).lean<RoomDoc>();
      if (!room) throw new Error(`no such room: ${input.request_id}`);
      const side = otherSide(input.side);
      const recipient: Principal = side === 'user' ? { side, userId: room.user_id } : { side, workshopId: room.workshop_id };
      return { ...result, recipient_unread: await this.#countsOf(recipient, input.request_id) };
    } catch (error) {
      // Another server committed the same client_id between our check and our insert.
      if (input.client_id !== null && isDuplicateKey(error)) {
        const stored = await this.#byClientId(input, null);
        if (stored) return { message: toMessage(stored), created: false, recipient_unread: NO_COUNTS };
      }
      throw error;
    } finally {
      await session.endSession();
    }
  }

  /** The body of the append transaction; the driver reruns it whole on a transient error (a write conflict). */
  async #appendIn(session: ClientSession, input: NewMessage): Promise<AppendResult> {
    if (input.client_id !== null) {
      const stored = await this.#byClientId(input, session);
      if (stored) return { message: toMessage(stored), created: false, recipient_unread: NO_COUNTS };
    }
    const room = await this.#rooms
      .findOneAndUpdate(
        { _id: input.request_id },
        { $inc: { last_seq: 1 } },
        { session, returnDocument: 'after', projection: { last_seq: 1 } },
      )
      .lean<Pick<RoomDoc, '_id' | 'last_seq'>>();
    if (!room) throw new Error(`no such room: ${input.request_id}`);
    const message: Message = {
      id: newId('m'),
      request_id: input.request_id,
      seq: room.last_seq,
      sender: { id: input.sender.id, role: input.sender.role, name: input.sender.name },
      body: input.body,
      client_id: input.client_id,
      created_at: new Date().toISOString(),
    };
    await this.#messages.create(
      [
        {
          _id: message.id,
          request_id: message.request_id,
          seq: message.seq,
          side: input.side,
          sender: message.sender,
          body: message.body,
          client_id: message.client_id,
          created_at: message.created_at,
        },
      ],
      { session },
    );
    return { message, created: true, recipient_unread: NO_COUNTS };
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

  async advanceCursor(requestId: string, side: Side, seq: number | null): Promise<CursorResult> {
    const field = cursorField(side);
    const target = seq ?? Number.MAX_SAFE_INTEGER;
    // One conditional update: the filter and the new value read last_seq from the same document version.
    const clamped = () => ({ $min: [target, '$last_seq'] });
    const moved = await this.#rooms
      .findOneAndUpdate(
        { _id: requestId, $expr: { $lt: [`$${field}`, clamped()] } },
        [{ $set: { [field]: clamped() } }],
        { returnDocument: 'after', updatePipeline: true },
      )
      .lean<RoomDoc>();
    const doc = moved ?? (await this.#rooms.findById(requestId).lean<RoomDoc>());
    if (!doc) throw new Error(`no such room: ${requestId}`);
    const reader: Principal = side === 'user' ? { side, userId: doc.user_id } : { side, workshopId: doc.workshop_id };
    return {
      read_cursors: { user: doc.user_cursor, workshop: doc.workshop_cursor },
      moved: moved !== null,
      reader_unread: await this.#countsOf(reader, requestId),
    };
  }

  async unread(principal: Principal): Promise<UnreadSnapshot> {
    const rooms: Record<string, number> = {};
    let total = 0;
    for (const [id, n] of await this.#unreadCounts(principal, await this.#roomsOf(principal))) {
      rooms[id] = n;
      total += n;
    }
    return { total, rooms };
  }

  #roomsOf(principal: Principal): Promise<RoomDoc[]> {
    const filter = principal.side === 'user' ? { user_id: principal.userId } : { workshop_id: principal.workshopId };
    return this.#rooms.find(filter).sort({ created_at: 1 }).lean<RoomDoc[]>();
  }

  /** Non-zero counts only, like the SQLite store. */
  async #unreadCounts(principal: Principal, rooms: RoomDoc[]): Promise<Map<string, number>> {
    const field = cursorField(principal.side);
    const from = otherSide(principal.side);
    // A room whose cursor is at its last seq has nothing unread: skip the query for it.
    const clauses = rooms
      .filter((room) => room.last_seq > room[field])
      .map((room) => ({ request_id: room._id, side: from, seq: { $gt: room[field] } }));
    const counts = new Map<string, number>();
    for (const part of chunks(clauses)) {
      const rows = await this.#messages.aggregate<{ _id: string; n: number }>([
        { $match: { $or: part } },
        { $group: { _id: '$request_id', n: { $sum: 1 } } },
      ]);
      for (const row of rows) if (row.n > 0) counts.set(row._id, row.n);
    }
    return counts;
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

  /** Lets accepted appends finish, then closes this store's own connection. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(this.#tails.values());
      await this.#conn.close();
    })();
    return this.#closing;
  }
}
