import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Message, Principal, Room, RoomListing, RoomState, Side, UnreadSnapshot } from '../chat/types.js';
import { newId } from './ids.js';
import type { AppendResult, ChatStore, CursorResult, MessagePage, NewMessage, NewRoom, PageQuery } from './store.js';

export interface SqliteStoreOptions {
  dataDir: string;
  /** `full` survives power loss; `normal` (WAL) survives a crash or kill -9 of the process. */
  synchronous?: 'full' | 'normal';
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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS rooms (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL,
  workshop_id TEXT NOT NULL,
  title TEXT NOT NULL,
  created_at TEXT NOT NULL,
  last_seq INTEGER NOT NULL DEFAULT 0,
  user_cursor INTEGER NOT NULL DEFAULT 0,
  workshop_cursor INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS rooms_by_user ON rooms (user_id);
CREATE INDEX IF NOT EXISTS rooms_by_workshop ON rooms (workshop_id);
CREATE TABLE IF NOT EXISTS messages (
  request_id TEXT NOT NULL REFERENCES rooms (id),
  seq INTEGER NOT NULL,
  id TEXT NOT NULL UNIQUE,
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
CREATE INDEX IF NOT EXISTS messages_by_side ON messages (request_id, side, seq);
`;

const MESSAGE_COLUMNS = 'id, request_id, seq, sender_id, sender_role, sender_name, body, client_id, created_at';

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
 * together in one transaction (each in its own savepoint, so one failure does
 * not undo the others): one WAL commit for many messages is what lets durable
 * writes keep up with a bare broadcast.
 */
export class SqliteStore implements ChatStore {
  readonly #db: Database.Database;
  #pending: PendingAppend[] = [];
  #flushScheduled = false;
  #closed = false;
  readonly #stmt;
  readonly #appendOne: (input: NewMessage) => AppendResult;
  readonly #appendBatch: (batch: PendingAppend[]) => AppendResult[];

  constructor(options: SqliteStoreOptions) {
    mkdirSync(options.dataDir, { recursive: true });
    this.#db = new Database(join(options.dataDir, 'motoreach-chat.sqlite3'));
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.#db.pragma('foreign_keys = ON');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    const db = this.#db;
    this.#stmt = {
      insertRoom: db.prepare('INSERT INTO rooms (id, user_id, workshop_id, title, created_at) VALUES (?, ?, ?, ?, ?)'),
      getRoom: db.prepare<[string], RoomRow>('SELECT * FROM rooms WHERE id = ?'),
      roomsOfUser: db.prepare<[string], RoomRow>('SELECT * FROM rooms WHERE user_id = ?'),
      roomsOfWorkshop: db.prepare<[string], RoomRow>('SELECT * FROM rooms WHERE workshop_id = ?'),
      byClientId: db.prepare<[string, string, string, string], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? AND side = ? AND sender_id = ? AND client_id = ?`,
      ),
      nextSeq: db.prepare<[string], { last_seq: number }>(
        'UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq',
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
      advanceUser: db.prepare<{ seq: number; id: string }>(
        'UPDATE rooms SET user_cursor = min(@seq, last_seq) WHERE id = @id AND user_cursor < min(@seq, last_seq)',
      ),
      advanceWorkshop: db.prepare<{ seq: number; id: string }>(
        'UPDATE rooms SET workshop_cursor = min(@seq, last_seq) WHERE id = @id AND workshop_cursor < min(@seq, last_seq)',
      ),
      unreadOfUser: db.prepare<[string], { id: string; n: number }>(
        `SELECT r.id, (SELECT count(*) FROM messages m WHERE m.request_id = r.id AND m.side = 'workshop' AND m.seq > r.user_cursor) AS n
         FROM rooms r WHERE r.user_id = ?`,
      ),
      unreadOfWorkshop: db.prepare<[string], { id: string; n: number }>(
        `SELECT r.id, (SELECT count(*) FROM messages m WHERE m.request_id = r.id AND m.side = 'user' AND m.seq > r.workshop_cursor) AS n
         FROM rooms r WHERE r.workshop_id = ?`,
      ),
    };

    this.#appendOne = db.transaction((input: NewMessage): AppendResult => {
      if (input.client_id !== null) {
        const existing = this.#stmt.byClientId.get(input.request_id, input.side, input.sender.id, input.client_id);
        if (existing) return { message: toMessage(existing), created: false };
      }
      const next = this.#stmt.nextSeq.get(input.request_id);
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
    });

    this.#appendBatch = db.transaction((batch: PendingAppend[]) =>
      batch.map((op) => {
        try {
          return this.#appendOne(op.input);
        } catch (error) {
          op.reject(error);
          return undefined as unknown as AppendResult;
        }
      }),
    );
  }

  async createRoom(input: NewRoom): Promise<Room> {
    const room: Room = { id: newId('r'), ...input, created_at: new Date().toISOString() };
    this.#stmt.insertRoom.run(room.id, room.user_id, room.workshop_id, room.title, room.created_at);
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
    if (this.#closed) return Promise.reject(new Error('store is closed'));
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
      for (const op of batch) op.reject(error);
      return;
    }
    batch.forEach((op, i) => {
      const result = results[i];
      if (result) op.resolve(result);
    });
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
    this.#db.close();
  }
}
