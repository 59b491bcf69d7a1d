import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Message, Principal, Room, RoomListing, RoomState, Side, UnreadSnapshot } from '../chat/types.js';
import type { Logger } from '../logger.js';
import { Checkpointer } from './checkpointer.js';
import { DataDirLock, prepareDataDir } from './data-dir.js';
import { isStoreUnavailable, StoreUnavailableError } from './failures.js';
import { newId } from './ids.js';
import type { AppendResult, ChatStore, CursorResult, MessagePage, NewMessage, NewRoom, PageQuery } from './store.js';

export interface SqliteStoreOptions {
  dataDir: string;
  /** `full` survives power loss; `normal` (WAL) survives a crash or kill -9 of the process. */
  synchronous?: 'full' | 'normal';
  /** Where a failing checkpoint worker is reported. */
  logger?: Logger;
}

interface RoomRow {
  id: string;
  user_id: string;
  workshop_id: string;
  title: string;
  created_at: string;
  last_seq: number;
  user_cursor: number;
  workshop_cursor: number;
}

const ROOM_COLUMNS = 'id, user_id, workshop_id, title, created_at, last_seq, user_cursor, workshop_cursor';

interface MessageRow {
  id: string;
  request_id: string;
  seq: number;
  sender_id: string;
  sender_role: 'user' | 'workshop_admin';
  sender_name: string | null;
  body: string;
  client_id: string | null;
  created_at: string;
}

interface PendingAppend {
  input: NewMessage;
  resolve: (result: AppendResult) => void;
  reject: (error: unknown) => void;
}

/** Raised with every change to SCHEMA, which then needs a migration from the previous version. */
const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rooms (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  workshop_id TEXT NOT NULL,
  title TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  user_cursor INTEGER NOT NULL DEFAULT 0,
  workshop_cursor INTEGER NOT NULL DEFAULT 0,
  -- Unread counts without counting messages: a side's unread is what the
  -- other side sent minus what of it lies at or below this side's cursor.
  user_sent INTEGER NOT NULL DEFAULT 0,
  workshop_sent INTEGER NOT NULL DEFAULT 0,
  user_seen INTEGER NOT NULL DEFAULT 0,
  workshop_seen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS rooms_by_user ON rooms (user_id);
CREATE INDEX IF NOT EXISTS rooms_by_workshop ON rooms (workshop_id);
CREATE TABLE IF NOT EXISTS messages (
  request_id TEXT NOT NULL REFERENCES rooms (id),
  seq INTEGER NOT NULL,
  -- Not indexed: nothing looks a message up by id, and every index costs each insert its page writes.
  id TEXT NOT NULL,
  side TEXT NOT NULL,
  sender_id TEXT NOT NULL,
  sender_role TEXT NOT NULL,
  sender_name TEXT,
  body TEXT NOT NULL,
  client_id TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (request_id, seq)
) WITHOUT ROWID;
-- A sender is its side and its id: an owner and an admin may share an opaque id.
CREATE UNIQUE INDEX IF NOT EXISTS messages_by_client_id ON messages (request_id, side, sender_id, client_id) WHERE client_id IS NOT NULL;
`;

const MESSAGE_COLUMNS = 'id, request_id, seq, sender_id, sender_role, sender_name, body, client_id, created_at';

/**
 * Moves a side's cursor forward and adds to its `seen` count the other side's
 * messages the move covers (SET expressions see the row's values before the update).
 */
function advanceCursorSql(side: 'user' | 'workshop', other: 'user' | 'workshop'): string {
  const target = 'min(@seq, rooms.last_seq)';
  return `UPDATE rooms SET ${side}_cursor = ${target},
    ${side}_seen = ${side}_seen + (SELECT count(*) FROM messages m
      WHERE m.request_id = rooms.id AND m.side = '${other}' AND m.seq > rooms.${side}_cursor AND m.seq <= ${target})
    WHERE id = @id AND ${side}_cursor < ${target}`;
}

function toRoomState(row: RoomRow): RoomState {
  return {
    id: row.id,
    user_id: row.user_id,
    workshop_id: row.workshop_id,
    title: row.title,
    created_at: row.created_at,
    last_seq: row.last_seq,
    read_cursors: { user: row.user_cursor, workshop: row.workshop_cursor },
  };
}

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    request_id: row.request_id,
    seq: row.seq,
    sender: { id: row.sender_id, role: row.sender_role, name: row.sender_name },
    body: row.body,
    client_id: row.client_id,
    created_at: row.created_at,
  };
}

/**
 * The embedded store. Appends that arrive in one event-loop turn are committed
 * together in one transaction (if it fails, each is retried in its own, so one
 * bad append does not fail the others): one WAL commit for many messages is
 * what lets durable writes keep up with a bare broadcast. It holds DATA_DIR's
 * lock from construction to close().
 */
export class SqliteStore implements ChatStore {
  readonly #db: Database.Database;
  readonly #lock: DataDirLock;
  #pending: PendingAppend[] = [];
  #flushScheduled = false;
  #closed = false;
  readonly #checkpointer: Checkpointer;
  readonly #stmt;
  readonly #appendOne: (input: NewMessage) => AppendResult;
  readonly #appendBatch: (batch: PendingAppend[]) => AppendResult[];

  constructor(options: SqliteStoreOptions) {
    prepareDataDir(options.dataDir);
    this.#lock = DataDirLock.acquire(options.dataDir);
    const file = join(options.dataDir, 'motoreach-chat.sqlite3');
    try {
      this.#db = this.#open(file, options.synchronous);
    } catch (error) {
      this.#lock.release();
      throw error;
    }
    this.#checkpointer = new Checkpointer(this.#db, { logger: options.logger });
    const db = this.#db;
    this.#stmt = {
      insertRoom: db.prepare('INSERT INTO rooms (id, user_id, workshop_id, title, created_at) VALUES (?, ?, ?, ?, ?)'),
      getRoom: db.prepare<[string], RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = ?`),
      roomsOfUser: db.prepare<[string], RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE user_id = ?`),
      roomsOfWorkshop: db.prepare<[string], RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE workshop_id = ?`),
      byClientId: db.prepare<[string, string, string, string], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? AND side = ? AND sender_id = ? AND client_id = ?`,
      ),
      nextSeqOfUser: db.prepare<[string], { last_seq: number }>(
        'UPDATE rooms SET last_seq = last_seq + 1, user_sent = user_sent + 1 WHERE id = ? RETURNING last_seq',
      ),
      nextSeqOfWorkshop: db.prepare<[string], { last_seq: number }>(
        'UPDATE rooms SET last_seq = last_seq + 1, workshop_sent = workshop_sent + 1 WHERE id = ? RETURNING last_seq',
      ),
      insertMessage: db.prepare(
        `INSERT INTO messages (request_id, seq, id, side, sender_id, sender_role, sender_name, body, client_id, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      lastMessage: db.prepare<[string], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? ORDER BY seq DESC LIMIT 1`,
      ),
      pageAfter: db.prepare<[string, number, number, number], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`,
      ),
      pageBefore: db.prepare<[string, number, number, number], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      ),
      advanceUser: db.prepare<{ seq: number; id: string }>(advanceCursorSql('user', 'workshop')),
      advanceWorkshop: db.prepare<{ seq: number; id: string }>(advanceCursorSql('workshop', 'user')),
      unreadOfUser: db.prepare<[string], { id: string; n: number }>(
        'SELECT id, workshop_sent - user_seen AS n FROM rooms WHERE user_id = ? AND workshop_sent > user_seen',
      ),
      unreadOfWorkshop: db.prepare<[string], { id: string; n: number }>(
        'SELECT id, user_sent - workshop_seen AS n FROM rooms WHERE workshop_id = ? AND user_sent > workshop_seen',
      ),
    };

    const append = (input: NewMessage): AppendResult => {
      if (input.client_id !== null) {
        const existing = this.#stmt.byClientId.get(input.request_id, input.side, input.sender.id, input.client_id);
        if (existing) return { message: toMessage(existing), created: false };
      }
      const nextSeq = input.side === 'user' ? this.#stmt.nextSeqOfUser : this.#stmt.nextSeqOfWorkshop;
      const next = nextSeq.get(input.request_id);
      if (!next) throw new Error(`no such room: ${input.request_id}`);
      const message: Message = {
        id: newId('m'),
        request_id: input.request_id,
        seq: next.last_seq,
        sender: input.sender,
        body: input.body,
        client_id: input.client_id,
        created_at: new Date().toISOString(),
      };
      this.#stmt.insertMessage.run(
        message.request_id,
        message.seq,
        message.id,
        input.side,
        message.sender.id,
        message.sender.role,
        message.sender.name,
        message.body,
        message.client_id,
        message.created_at,
      );
      return { message, created: true };
    };
    this.#appendOne = db.transaction(append);
    this.#appendBatch = db.transaction((batch: PendingAppend[]) => batch.map((op) => append(op.input)));
  }

  #open(file: string, synchronous: SqliteStoreOptions['synchronous']): Database.Database {
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('wal_autocheckpoint = 0');
      db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new Error(`${file} was written by a newer server (schema ${version}; this one knows ${SCHEMA_VERSION}): upgrade the server`);
      }
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return db;
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async createRoom(input: NewRoom): Promise<Room> {
    const room: Room = { id: newId('r'), ...input, created_at: new Date().toISOString() };
    this.#stmt.insertRoom.run(room.id, room.user_id, room.workshop_id, room.title, room.created_at);
    this.#checkpointer.committed();
    return room;
  }

  async getRoom(id: string): Promise<RoomState | null> {
    const row = this.#stmt.getRoom.get(id);
    return row ? toRoomState(row) : null;
  }

  async listRooms(principal: Principal): Promise<RoomListing[]> {
    const rows =
      principal.side === 'user'
        ? this.#stmt.roomsOfUser.all(principal.userId)
        : this.#stmt.roomsOfWorkshop.all(principal.workshopId);
    const unread = this.#unreadCounts(principal);
    return rows.map((row) => {
      const last = this.#stmt.lastMessage.get(row.id);
      return { ...toRoomState(row), unread: unread.get(row.id) ?? 0, last_message: last ? toMessage(last) : null };
    });
  }

  appendMessage(input: NewMessage): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('store is closed'));
    return new Promise((resolve, reject) => {
      this.#pending.push({ input, resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return;
    let results: AppendResult[];
    try {
      results = this.#appendBatch(batch);
    } catch (error) {
      // The batch rolled back as a whole: nothing of it is stored, no seq is taken.
      if (isStoreUnavailable(error)) {
        // The storage failed (disk full, I/O): one transaction each would fail alike and only add
        // writes to a failing disk. Every append gets the one error, which is logged once.
        this.#checkpointer.writeFailed();
        for (const op of batch) op.reject(error);
        return;
      }
      // One bad append: one transaction each keeps the good ones and fails only the bad.
      for (const op of batch) {
        try {
          op.resolve(this.#appendOne(op.input));
          this.#checkpointer.committed();
        } catch (opError) {
          op.reject(opError);
        }
      }
      return;
    }
    this.#checkpointer.committed();
    batch.forEach((op, i) => op.resolve(results[i] as AppendResult));
  }

  async listMessages(requestId: string, query: PageQuery): Promise<MessagePage> {
    const lower = query.after ?? 0;
    const upper = query.before ?? Number.MAX_SAFE_INTEGER;
    if (query.after !== undefined) {
      const rows = this.#stmt.pageAfter.all(requestId, lower, upper, query.limit + 1);
      const has_more = rows.length > query.limit;
      return { messages: rows.slice(0, query.limit).map(toMessage), has_more };
    }
    const rows = this.#stmt.pageBefore.all(requestId, lower, upper, query.limit + 1);
    const has_more = rows.length > query.limit;
    return { messages: rows.slice(0, query.limit).reverse().map(toMessage), has_more };
  }

  async advanceCursor(requestId: string, side: Side, seq: number | null): Promise<CursorResult> {
    const target = seq ?? Number.MAX_SAFE_INTEGER;
    const stmt = side === 'user' ? this.#stmt.advanceUser : this.#stmt.advanceWorkshop;
    const { changes } = stmt.run({ seq: target, id: requestId });
    if (changes > 0) this.#checkpointer.committed();
    const row = this.#stmt.getRoom.get(requestId);
    if (!row) throw new Error(`no such room: ${requestId}`);
    return { read_cursors: { user: row.user_cursor, workshop: row.workshop_cursor }, moved: changes > 0 };
  }

  async unread(principal: Principal): Promise<UnreadSnapshot> {
    const rooms: Record<string, number> = {};
    let total = 0;
    for (const [id, n] of this.#unreadCounts(principal)) {
      rooms[id] = n;
      total += n;
    }
    return { total, rooms };
  }

  #unreadCounts(principal: Principal): Map<string, number> {
    const rows =
      principal.side === 'user'
        ? this.#stmt.unreadOfUser.all(principal.userId)
        : this.#stmt.unreadOfWorkshop.all(principal.workshopId);
    return new Map(rows.filter((r) => r.n > 0).map((r) => [r.id, r.n]));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    await this.#checkpointer.close();
    // The last connection to close checkpoints what is left and removes the WAL.
    this.#db.close();
    this.#lock.release();
  }
}
