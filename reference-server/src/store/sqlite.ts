import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Attachment } from '@motoreach/protocol';
import type Database from 'better-sqlite3';
import { storedAttachments } from '../attachments/refs.js';
import type { Message, MessageData, MessageSide, Principal, Room, RoomStatus, RoomListing, RoomState, Sender, Side, UnreadSnapshot } from '../chat/types.js';
import type { Logger } from '../logger.js';
import { Checkpointer } from './checkpointer.js';
import { isoNow } from '../iso-now.js';
import { DATABASE_FILE, DataDirLock, prepareDataDir } from './data-dir.js';
import { isStoreUnavailable, NotHolderError, RoomClosedError, StoreUnavailableError } from './failures.js';
import { newId } from '../ids.js';
import { RecentClientIds } from './recent-client-ids.js';
import { foldForSearch, searchKeys } from './search-keys.js';
import { type OpenedWal, openWal } from './wal.js';
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
  PageQuery,
  PutResult,
  RedactedMessage,
  RoomPut,
  UnreadCounts,
} from './store.js';

export interface SqliteStoreOptions {
  dataDir: string;
  /** `full` survives power loss; `normal` (WAL) survives a crash or kill -9 of the process. */
  synchronous?: 'full' | 'normal';
  /** Where a failing checkpoint worker is reported. */
  logger?: Logger;
  /** Record webhook events (WEBHOOK_URL is set): one more INSERT in each write's transaction. */
  events?: boolean;
  /** How many recorded events delivery finds in memory rather than in the table (default EVENTS_IN_MEMORY). */
  eventsInMemory?: number;
}

interface RoomRow {
  id: string;
  user_id: string;
  workshop_id: string;
  title: string;
  created_at: string;
  status: RoomStatus;
  user_name: string | null;
  workshop_name: string | null;
  last_seq: number;
  user_cursor: number;
  workshop_cursor: number;
  user_sent: number;
  workshop_sent: number;
  user_seen: number;
  workshop_seen: number;
  system_sent: number;
}

const ROOM_COLUMNS =
  'id, user_id, workshop_id, title, created_at, status, user_name, workshop_name, last_seq, user_cursor, workshop_cursor, user_sent, workshop_sent, user_seen, workshop_seen, system_sent';

/** A side's unread in a room from its counters (schema 7): what the other side and the host's backend sent, less what of it the side has seen. */
const UNREAD = {
  user: 'workshop_sent + system_sent - user_seen',
  workshop: 'user_sent + system_sent - workshop_seen',
} as const;

interface MessageRow {
  id: string;
  request_id: string;
  seq: number;
  sender_id: string;
  sender_role: Sender['role'];
  sender_name: string | null;
  body: string;
  /** JSON text; null when the message carries none. */
  data: string | null;
  client_id: string | null;
  created_at: string;
  redacted: 0 | 1;
  /** JSON text of the attachments without their URLs; null when none. */
  attachments: string | null;
}

interface InboxRow extends Omit<RoomRow, 'user_sent' | 'workshop_sent' | 'user_seen' | 'workshop_seen' | 'system_sent'> {
  last_activity: string;
  unread: number;
  m_id: string | null;
  m_sender_id: string;
  m_sender_role: Sender['role'];
  m_sender_name: string | null;
  m_body: string;
  m_data: string | null;
  m_client_id: string | null;
  m_created_at: string;
  m_redacted: 0 | 1;
  m_attachments: string | null;
}

interface CursorMove {
  requestId: string;
  side: Side;
  seq: number | null;
  holder: string | undefined;
}

/**
 * The seq's update's parameters, in their order in its text: now, the room's id, the holder (null:
 * any), the client_id and the sender's id. Positional, each once (the room's id and the holder as the
 * row's own columns in the conditions): better-sqlite3 reads a named one from its object with two
 * property lookups through V8's API, at every append.
 */
type NextSeqParams = [now: string, id: string, holder: string | null, clientId: string | null, senderId: string];

/**
 * A condition of the seq's update: no copied client_id of the sender's is the append's (a null one
 * never is). In the update, the lookup costs a new message no statement of its own.
 */
function notCopiedSql(side: MessageSide): string {
  return `NOT EXISTS (SELECT 1 FROM client_ids WHERE request_id = rooms.id AND client_id = ? AND side = '${side}' AND sender_id = ?)`;
}

/** Rooms per side remembered as having an unread episode begun: past it the memory starts over. */
const UNREAD_BEGUN_CAP = 100_000;

/** Where a room's webhook events lie in webhook_events, by position. */
interface EventRoom {
  from: number;
  tail: number;
  dueAt: number;
  /**
   * Every pending event of the room, oldest first, as recorded (delivery reads them here, not from
   * the table), or null when they are not all in memory: then the table is read.
   */
  queue: PendingEvent[] | null;
}

/**
 * Webhook events kept in memory for delivery, across rooms: past it a room's events are read from
 * the table (a receiver down, a backlog), so a backlog costs no memory beyond this.
 */
export const EVENTS_IN_MEMORY = 5000;

/**
 * How long a delivered event's delete may wait to join a transaction (the appends', during sends):
 * the event has left its room in memory at once, and a kill -9 meanwhile sends it again (at least once).
 */
const DELETE_WITHIN_MS = 50;

/** A write waiting for the commit of its event-loop turn; `run` is its part of the transaction. */
interface PendingWrite {
  run: () => unknown;
  resolve: (result: never) => void;
  reject: (error: unknown) => void;
}


/** The schema version this server writes; each older version has a step in MIGRATIONS. */
const SCHEMA_VERSION = 10;

/**
 * How many client_ids wait in memory before a batch's transaction copies them into the
 * client_ids table: enough that a copy shares pages between messages of a room (copies of 2,000
 * wrote a fifth more bytes per message), few enough that opening the store reads them back in a
 * few milliseconds and a copy holds the event loop for about 10 ms.
 */
export const COPY_CLIENT_IDS_AT = 5000;

/**
 * Rows of the messages table an export or an erasure reads per step (there is no index by sender):
 * a few milliseconds of the event loop, so the sockets are served between steps.
 */
const SCAN_ROWS = 20_000;

/** Messages per page of an export. */
const EXPORT_PAGE = 500;

/** Version 1, as the first servers wrote it; newer versions are migrations from it. */
const SCHEMA_V1 = `
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

/** MIGRATIONS[v] takes a database from version v to v + 1; each runs in one transaction with its version bump. */
const MIGRATIONS: Record<number, string> = {
  1: `
-- The inbox's order: the newest message's time, or the room's creation without one.
ALTER TABLE rooms ADD COLUMN last_activity TEXT NOT NULL DEFAULT '';
UPDATE rooms SET last_activity = coalesce(
  (SELECT created_at FROM messages m WHERE m.request_id = rooms.id AND m.seq = rooms.last_seq), created_at);
-- Keyset pages of a principal's inbox; their prefix also serves every lookup by principal.
DROP INDEX rooms_by_user;
DROP INDEX rooms_by_workshop;
CREATE INDEX rooms_inbox_of_user ON rooms (user_id, last_activity, id);
CREATE INDEX rooms_inbox_of_workshop ON rooms (workshop_id, last_activity, id);
-- Only the rooms holding unread: a snapshot reads those, not every room the principal ever had.
CREATE INDEX rooms_unread_of_user ON rooms (user_id) WHERE workshop_sent > user_seen;
CREATE INDEX rooms_unread_of_workshop ON rooms (workshop_id) WHERE user_sent > workshop_seen;
-- A principal's unread over all its rooms, moved with each append and cursor move,
-- so a notification's total is one row, whatever the size of the inbox.
CREATE TABLE unread_totals (
  side TEXT NOT NULL,
  principal TEXT NOT NULL,
  total INTEGER NOT NULL,
  PRIMARY KEY (side, principal)
) WITHOUT ROWID;
INSERT INTO unread_totals (side, principal, total)
  SELECT 'user', user_id, sum(workshop_sent - user_seen) FROM rooms GROUP BY user_id
  UNION ALL
  SELECT 'workshop', workshop_id, sum(user_sent - workshop_seen) FROM rooms GROUP BY workshop_id;
`,
  2: `
-- Messages in commit order (the rowid): the rows of one commit are appended together at the end of
-- the table and share its last pages. Keyed by (request_id, seq), each row was written into its
-- room's place in the file, a page of WAL per message. Now only the small seq index entry lands in
-- the room's place, and client_ids were checked in memory, not by an index (until schema 4).
CREATE TABLE messages_by_commit (
  request_id TEXT NOT NULL REFERENCES rooms (id),
  seq INTEGER NOT NULL,
  id TEXT NOT NULL,
  side TEXT NOT NULL,
  sender_id TEXT NOT NULL,
  sender_role TEXT NOT NULL,
  sender_name TEXT,
  body TEXT NOT NULL,
  client_id TEXT,
  created_at TEXT NOT NULL
);
INSERT INTO messages_by_commit (request_id, seq, id, side, sender_id, sender_role, sender_name, body, client_id, created_at)
  SELECT request_id, seq, id, side, sender_id, sender_role, sender_name, body, client_id, created_at
  FROM messages ORDER BY created_at, request_id, seq;
DROP TABLE messages;
ALTER TABLE messages_by_commit RENAME TO messages;
CREATE UNIQUE INDEX messages_by_seq ON messages (request_id, seq);
`,
  3: `
-- Idempotency by a table keyed by room and client_id: a retried send is one lookup, whatever the size
-- of the room. (Schema 3 kept the client_ids in memory, loading a room's whole on its first write
-- after a start: seconds and hundreds of MiB for a big room, while the server answered nobody.) The
-- store copies the client_ids of new messages into it a few thousand at a time, past client_ids_copied,
-- the last copied message's rowid, and looks up those not yet copied in memory (recent-client-ids.ts).
CREATE TABLE client_ids (
  request_id TEXT NOT NULL,
  client_id TEXT NOT NULL,
  -- A sender is its side and its id: an owner and an admin may share an opaque id.
  side TEXT NOT NULL,
  sender_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (request_id, client_id, side, sender_id)
) WITHOUT ROWID;
CREATE TABLE client_ids_copied (through INTEGER NOT NULL);
-- Schema 3 never stored a client_id twice; should a file hold one anyway, its first message is the one kept.
INSERT OR IGNORE INTO client_ids (request_id, client_id, side, sender_id, seq)
  SELECT request_id, client_id, side, sender_id, seq FROM messages WHERE client_id IS NOT NULL
  ORDER BY request_id, client_id, side, sender_id, seq;
INSERT INTO client_ids_copied (through) SELECT coalesce(max(rowid), 0) FROM messages;
`,
  4: `
-- The inbox's filters. q: what each side's q matches (search-keys.ts), folded by the
-- fold_for_search function this store registers, since SQLite's lower() is ASCII-only.
ALTER TABLE rooms ADD COLUMN user_search TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN workshop_search TEXT NOT NULL DEFAULT '';
UPDATE rooms SET user_search = fold_for_search(title), workshop_search = fold_for_search(title);
-- unread=1: the rooms holding unread in inbox order, so a page reads only those; the snapshot
-- uses the same index's prefix.
DROP INDEX rooms_unread_of_user;
DROP INDEX rooms_unread_of_workshop;
CREATE INDEX rooms_unread_inbox_of_user ON rooms (user_id, last_activity, id) WHERE workshop_sent > user_seen;
CREATE INDEX rooms_unread_inbox_of_workshop ON rooms (workshop_id, last_activity, id) WHERE user_sent > workshop_seen;
`,
  5: `
-- Contract 1.2: a closed room is read-only; the host's backend may name the two sides. No room has
-- names yet, so the search keys of migration 4 stand.
ALTER TABLE rooms ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE rooms ADD COLUMN user_name TEXT;
ALTER TABLE rooms ADD COLUMN workshop_name TEXT;
`,
  6: `
-- Contract 1.2: a message may carry data (its JSON text; NULL when none), and the host's backend
-- writes system messages (side 'system'), which belong to neither side and so are unread for both.
-- A side's unread is now what the other side and the system sent, less what of it lies at or below
-- the side's cursor: system_sent counts the system messages, and a side's seen counts every message
-- not its own under its cursor. A counter of their own rather than one added to both sides' sent:
-- user_sent and workshop_sent keep meaning what each side sent. No system message exists yet, so
-- the stored seen counts stand. The unread indexes take the new count, written as "unread > 0":
-- SQLite turns "a + b > c" around in a query, and then no longer finds an index on it.
ALTER TABLE messages ADD COLUMN data TEXT;
ALTER TABLE rooms ADD COLUMN system_sent INTEGER NOT NULL DEFAULT 0;
DROP INDEX rooms_unread_inbox_of_user;
DROP INDEX rooms_unread_inbox_of_workshop;
CREATE INDEX rooms_unread_inbox_of_user ON rooms (user_id, last_activity, id) WHERE workshop_sent + system_sent - user_seen > 0;
CREATE INDEX rooms_unread_inbox_of_workshop ON rooms (workshop_id, last_activity, id) WHERE user_sent + system_sent - workshop_seen > 0;
`,
  7: `
-- Contract 1.2: an erased message stays in its room's seq and counts, redacted.
ALTER TABLE messages ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0;
`,
  8: `
-- Webhook events (webhooks/), written in the transaction of the change they report and deleted once
-- delivered or given up. position orders them, within each room too; AUTOINCREMENT: never one of a
-- deleted event again, so the store's memory of where a room's events lie stays true.
-- due_at: when the next attempt may start (ms since the epoch).
CREATE TABLE webhook_events (
  position INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL,
  request_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  due_at INTEGER NOT NULL DEFAULT 0
);
-- No index: one by room would write a page in the room's place for each event, as many bytes again as
-- the message's own index. The store keeps each room's first and last position in memory instead.
-- room.unread_reminder: when each side's current unread began (NULL: it has none since it last read;
-- '': reminded). Written only while webhooks are on; the indexes hold only the sides waiting.
ALTER TABLE rooms ADD COLUMN user_unread_since TEXT;
ALTER TABLE rooms ADD COLUMN workshop_unread_since TEXT;
CREATE INDEX rooms_unread_since_user ON rooms (user_unread_since) WHERE user_unread_since > '';
CREATE INDEX rooms_unread_since_workshop ON rooms (workshop_unread_since) WHERE workshop_unread_since > '';
`,
  9: `
-- Contract 1.2: the files a message carries (attachments/), as JSON text without their signed URLs; NULL when none.
ALTER TABLE messages ADD COLUMN attachments TEXT;
`,
};

const INBOX_COLUMNS = `r.id, r.user_id, r.workshop_id, r.title, r.created_at, r.status, r.user_name, r.workshop_name, r.last_seq, r.user_cursor, r.workshop_cursor,
  r.last_activity, m.id AS m_id, m.sender_id AS m_sender_id, m.sender_role AS m_sender_role,
  m.sender_name AS m_sender_name, m.body AS m_body, m.data AS m_data, m.client_id AS m_client_id, m.created_at AS m_created_at, m.redacted AS m_redacted, m.attachments AS m_attachments`;

/** Which variant of the inbox query a page needs; each is one prepared statement. */
interface InboxShape {
  side: Side;
  after: boolean;
  q: boolean;
  unread: boolean;
}

/**
 * One inbox page of a side's principal; the newest message joins by the primary key (request_id, seq).
 * Walks the principal's rooms in inbox order, along the index of its rooms with unread when `unread`,
 * and stops at the page's last match: a page reads its rows plus the non-matching ones between them.
 */
function inboxSql({ side, after, q, unread }: InboxShape): string {
  const [owner, count, hasUnread] =
    side === 'user'
      ? ['user_id', 'r.workshop_sent + r.system_sent - r.user_seen', 'r.workshop_sent + r.system_sent - r.user_seen > 0']
      : ['workshop_id', 'r.user_sent + r.system_sent - r.workshop_seen', 'r.user_sent + r.system_sent - r.workshop_seen > 0'];
  const where = [
    `r.${owner} = @principal`,
    after && '(r.last_activity, r.id) < (@last_activity, @id)',
    unread && hasUnread,
    // instr: a plain substring of the folded key (LIKE would read % and _ in q as wildcards).
    q && `instr(r.${side}_search, @q) > 0`,
  ].filter(Boolean);
  return `SELECT ${INBOX_COLUMNS}, ${count} AS unread
    FROM rooms r INDEXED BY ${unread ? 'rooms_unread_inbox_of_' : 'rooms_inbox_of_'}${side}
    LEFT JOIN messages m ON m.request_id = r.id AND m.seq = r.last_seq
    WHERE ${where.join(' AND ')}
    ORDER BY r.last_activity DESC, r.id DESC LIMIT @limit`;
}

type InboxParams = { principal: string; limit: number; last_activity?: string; id?: string; q?: string };

function inboxKey({ side, after, q, unread }: InboxShape): string {
  return `${side}:${after}:${q}:${unread}`;
}

const MESSAGE_COLUMNS = 'id, request_id, seq, sender_id, sender_role, sender_name, body, data, client_id, created_at, redacted, attachments';

/**
 * Moves a side's cursor forward and adds to its `seen` count the messages the move covers that are
 * not its own: the other side's and system messages (SET expressions see the row's values before the update).
 */
function advanceCursorSql(side: Side): string {
  const target = 'min(@seq, rooms.last_seq)';
  return `UPDATE rooms SET ${side}_cursor = ${target},
    ${side}_seen = ${side}_seen + (SELECT count(*) FROM messages m
      WHERE m.request_id = rooms.id AND m.side <> '${side}' AND m.seq > rooms.${side}_cursor AND m.seq <= ${target})
    WHERE id = @id AND ${side}_cursor < ${target} RETURNING ${ROOM_COLUMNS}`;
}

function principalKey(principal: Principal): string {
  return principal.side === 'user' ? principal.userId : principal.workshopId;
}

function toRoomState(row: Omit<RoomRow, 'user_sent' | 'workshop_sent' | 'user_seen' | 'workshop_seen' | 'system_sent'>): RoomState {
  return {
    id: row.id,
    user_id: row.user_id,
    workshop_id: row.workshop_id,
    title: row.title,
    created_at: row.created_at,
    status: row.status,
    user_name: row.user_name,
    workshop_name: row.workshop_name,
    last_seq: row.last_seq,
    read_cursors: { user: row.user_cursor, workshop: row.workshop_cursor },
  };
}

function toListing(row: InboxRow): RoomListing {
  const last_message: Message | null =
    row.m_id === null
      ? null
      : {
          id: row.m_id,
          request_id: row.id,
          seq: row.last_seq,
          sender: { id: row.m_sender_id, role: row.m_sender_role, name: row.m_sender_name },
          body: row.m_body,
          ...(row.m_data !== null && { data: JSON.parse(row.m_data) as MessageData }),
          client_id: row.m_client_id,
          created_at: row.m_created_at,
          ...(row.m_attachments !== null && { attachments: JSON.parse(row.m_attachments) as Attachment[] }),
          ...(row.m_redacted === 1 && { redacted: true as const }),
        };
  return { ...toRoomState(row), unread: row.unread, last_message };
}

function toMessage(row: MessageRow): Message {
  return {
    id: row.id,
    request_id: row.request_id,
    seq: row.seq,
    sender: { id: row.sender_id, role: row.sender_role, name: row.sender_name },
    body: row.body,
    ...(row.data !== null && { data: JSON.parse(row.data) as MessageData }),
    client_id: row.client_id,
    created_at: row.created_at,
    // Stored without their URLs: the service signs fresh ones for every answer.
    ...(row.attachments !== null && { attachments: JSON.parse(row.attachments) as Attachment[] }),
    ...(row.redacted === 1 && { redacted: true as const }),
  };
}

/** The chat's pragmas, and its schema brought up to this server's version. */
function prepareDatabase(db: Database.Database, file: string, synchronous: SqliteStoreOptions['synchronous']): void {
  // Migration 4 folds the stored titles with it.
  db.function('fold_for_search', { deterministic: true }, (text) => foldForSearch(String(text)));
  db.pragma('wal_autocheckpoint = 0');
  db.pragma(`synchronous = ${synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.pragma('foreign_keys = ON');
  // Erasure: what an update or delete frees on a page is overwritten with zeros, not left for a
  // later write to cover. Only this connection changes rows; the checkpoint worker's copies pages.
  db.pragma('secure_delete = ON');
  db.pragma('busy_timeout = 5000');
  // SQLite's default page cache is 2 MB: the hot pages of a few thousand rooms. Past it, every
  // room lookup is a read from the OS; 32 MB holds those of tens of thousands, and is only used as filled.
  db.pragma('cache_size = -32768');
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(`${file} was written by a newer server (schema ${version}; this one knows ${SCHEMA_VERSION}): upgrade the server`);
  }
  if (version === 0) {
    db.transaction(() => {
      db.exec(SCHEMA_V1);
      db.pragma('user_version = 1');
    }).immediate();
  }
  for (let from = Math.max(version, 1); from < SCHEMA_VERSION; from++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[from] as string);
      db.pragma(`user_version = ${from + 1}`);
    }).immediate();
  }
}

/**
 * The embedded store. Appends and cursor moves that arrive in one event-loop
 * turn are committed together in one transaction, in the order they were
 * called (if it fails, each is retried in its own, so one bad write does not
 * fail the others): one WAL commit for many writes is what lets durable
 * writes keep up with a bare broadcast. Unread counts are counters moved in
 * the same transaction as the write that changes them, so a write's cost does
 * not grow with the principal's number of rooms. It holds DATA_DIR's lock
 * from construction to close().
 */
export class SqliteStore implements ChatStore {
  readonly #db: Database.Database;
  readonly #lock: DataDirLock;
  #pending: PendingWrite[] = [];
  #flushScheduled = false;
  #closed = false;
  readonly #checkpointer: Checkpointer;
  readonly #stmt;
  readonly #inbox = new Map<string, Database.Statement<InboxParams, InboxRow>>();
  readonly #runOne: (op: PendingWrite) => unknown;
  readonly #put: (input: RoomPut) => PutResult;
  readonly #runBatch: (batch: PendingWrite[]) => unknown[];
  readonly #recentClientIds = new RecentClientIds();
  readonly outbox: EventOutbox | null;
  /** The webhook events the transaction under way recorded: its commit wakes the delivery loop. */
  #recorded: PendingEvent[] = [];
  /** The events in the rooms' queues (EventRoom.queue), and how many may be. */
  #eventsInMemory = 0;
  readonly #eventsInMemoryCap: number;
  /** Delivered or given-up events whose delete waits (DELETE_WITHIN_MS), by position. */
  #deletes: number[] = [];
  #deleteTimer: NodeJS.Timeout | null = null;
  /**
   * Each room holding webhook events: where its oldest lies (`from`: no event of the room is below
   * it), its newest, and when the oldest may be attempted (ms since the epoch). A room's oldest is a
   * scan of positions from `from`, which passes only the other rooms' events recorded in between.
   * Only this process writes the file, so it is exact; read once when the store opens.
   */
  readonly #eventRooms = new Map<string, EventRoom>();
  #onRecorded: (() => void) | null = null;
  onCommit: ((seconds: number, writes: number) => void) | null = null;
  /** Holds the fingerprint of the webhook settings a receiver answered 410 Gone (absent: none). */
  readonly #deliveryOffFile: string;
  /**
   * Rooms whose side has an unread episode begun (its `<side>_unread_since` is not NULL, as
   * committed): a message to it needs no UPDATE of the room row to begin one. Absent says nothing
   * (after a start, or past the cap), and the UPDATE runs, changing nothing if one has begun.
   */
  readonly #unreadBegun = { user: new Set<string>(), workshop: new Set<string>() };
  /** The episodes the transaction under way began: known once it commits. */
  readonly #unreadBeginning = { user: new Set<string>(), workshop: new Set<string>() };

  constructor(options: SqliteStoreOptions) {
    prepareDataDir(options.dataDir);
    this.#lock = DataDirLock.acquire(options.dataDir);
    const file = join(options.dataDir, DATABASE_FILE);
    this.#deliveryOffFile = join(options.dataDir, 'webhook-delivery-off');
    this.#eventsInMemoryCap = options.eventsInMemory ?? EVENTS_IN_MEMORY;
    let opened: OpenedWal;
    try {
      opened = openWal(file, (db) => prepareDatabase(db, file, options.synchronous));
    } catch (error) {
      this.#lock.release();
      throw error;
    }
    this.#db = opened.db;
    const { shared } = opened;
    if (!shared) {
      // No room on the disk for the WAL's shared-memory index, which the checkpoint worker's
      // connection would share: until the next start, SQLite checkpoints on the main thread.
      options.logger?.warn(
        { err: opened.cause },
        'no space on the disk for the WAL index: the database is open in exclusive mode, without the checkpoint worker, until the next start',
      );
    }
    this.#checkpointer = new Checkpointer(this.#db, { logger: options.logger, ...(!shared && { spawn: null }) });
    const db = this.#db;
    this.#stmt = {
      insertRoom: db.prepare(
        `INSERT INTO rooms (id, user_id, workshop_id, title, created_at, last_activity, user_search, workshop_search)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertRoomIfNew: db.prepare(
        `INSERT INTO rooms (id, user_id, workshop_id, title, created_at, last_activity, status, user_name, workshop_name, user_search, workshop_search)
         VALUES (@id, @user_id, @workshop_id, @title, @created_at, @created_at, @status, @user_name, @workshop_name, @user_search, @workshop_search)
         ON CONFLICT (id) DO NOTHING`,
      ),
      updateRoom: db.prepare(
        `UPDATE rooms SET workshop_id = @workshop_id, title = @title, status = @status, user_name = @user_name,
         workshop_name = @workshop_name, user_search = @user_search, workshop_search = @workshop_search WHERE id = @id`,
      ),
      getRoom: db.prepare<[string], RoomRow>(`SELECT ${ROOM_COLUMNS} FROM rooms WHERE id = ?`),
      getMessage: db.prepare<[string, number], MessageRow>(`SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? AND seq = ?`),
      copiedSeq: db
        .prepare<[string, string, MessageSide, string], number>(
          'SELECT seq FROM client_ids WHERE request_id = ? AND client_id = ? AND side = ? AND sender_id = ?',
        )
        .pluck(),
      uncopied: db.prepare<[], { request_id: string; side: MessageSide; sender_id: string; client_id: string; seq: number }>(
        `SELECT request_id, side, sender_id, client_id, seq FROM messages
         WHERE rowid > (SELECT through FROM client_ids_copied) AND client_id IS NOT NULL`,
      ),
      copy: db.prepare(
        `INSERT INTO client_ids (request_id, client_id, side, sender_id, seq)
         SELECT request_id, client_id, side, sender_id, seq FROM messages
         WHERE rowid > (SELECT through FROM client_ids_copied) AND client_id IS NOT NULL`,
      ),
      copiedThrough: db.prepare('UPDATE client_ids_copied SET through = (SELECT max(rowid) FROM messages)'),
      // RETURNING sees the row after the update: the recipient's count in the room includes this message.
      // A copied client_id of the sender's also leaves the room as it is: the append answers the stored message.
      nextSeqOfUser: db.prepare<NextSeqParams, { last_seq: number; recipient: string; count: number }>(
        `UPDATE rooms SET last_seq = last_seq + 1, user_sent = user_sent + 1, last_activity = max(last_activity, ?)
         WHERE id = ? AND status = 'open' AND user_id = coalesce(?, user_id) AND ${notCopiedSql('user')}
         RETURNING last_seq, workshop_id AS recipient, ${UNREAD.workshop} AS count`,
      ),
      nextSeqOfWorkshop: db.prepare<NextSeqParams, { last_seq: number; recipient: string; count: number }>(
        `UPDATE rooms SET last_seq = last_seq + 1, workshop_sent = workshop_sent + 1, last_activity = max(last_activity, ?)
         WHERE id = ? AND status = 'open' AND workshop_id = coalesce(?, workshop_id) AND ${notCopiedSql('workshop')}
         RETURNING last_seq, user_id AS recipient, ${UNREAD.user} AS count`,
      ),
      // A system message is unread for both sides: each one's count, and who holds it.
      nextSeqOfSystem: db.prepare<
        [now: string, id: string, clientId: string | null, senderId: string],
        { last_seq: number; user_id: string; workshop_id: string; user_count: number; workshop_count: number }
      >(
        `UPDATE rooms SET last_seq = last_seq + 1, system_sent = system_sent + 1, last_activity = max(last_activity, ?)
         WHERE id = ? AND status = 'open' AND ${notCopiedSql('system')}
         RETURNING last_seq, user_id, workshop_id, ${UNREAD.user} AS user_count, ${UNREAD.workshop} AS workshop_count`,
      ),
      insertMessage: db.prepare(
        `INSERT INTO messages (request_id, seq, id, side, sender_id, sender_role, sender_name, body, data, client_id, created_at, attachments)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      addToTotal: db.prepare<{ side: Side; principal: string; n: number }, { total: number }>(
        `INSERT INTO unread_totals (side, principal, total) VALUES (@side, @principal, @n)
         ON CONFLICT (side, principal) DO UPDATE SET total = total + @n RETURNING total`,
      ),
      // An append's: one more unread for the recipient, positional and plucked (see NextSeqParams).
      oneMoreUnread: db
        .prepare<[Side, string], number>(
          `INSERT INTO unread_totals (side, principal, total) VALUES (?, ?, 1)
           ON CONFLICT (side, principal) DO UPDATE SET total = total + 1 RETURNING total`,
        )
        .pluck(),
      total: db.prepare<[Side, string], { total: number }>('SELECT total FROM unread_totals WHERE side = ? AND principal = ?'),
      pageAfter: db.prepare<[string, number, number, number], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?`,
      ),
      pageBefore: db.prepare<[string, number, number, number], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? AND seq > ? AND seq < ? ORDER BY seq DESC LIMIT ?`,
      ),
      advanceUser: db.prepare<{ seq: number; id: string }, RoomRow>(advanceCursorSql('user')),
      advanceWorkshop: db.prepare<{ seq: number; id: string }, RoomRow>(advanceCursorSql('workshop')),
      lastRowid: db.prepare<[], number>('SELECT coalesce(max(rowid), 0) FROM messages').pluck(),
      messagesOfSender: db.prepare<{ from: number; to: number; sender: string; limit: number }, MessageRow & { position: number }>(
        `SELECT rowid AS position, ${MESSAGE_COLUMNS} FROM messages
         WHERE rowid > @from AND rowid <= @to AND sender_id = @sender ORDER BY rowid LIMIT @limit`,
      ),
      // secure_delete (see #open) zeroes the bytes the old body leaves in its page, and any overflow page it frees.
      redactOfSender: db.prepare<{ from: number; to: number; sender: string }, RedactedMessage>(
        `UPDATE messages SET body = '', data = NULL, attachments = NULL, sender_name = NULL, redacted = 1
         WHERE rowid > @from AND rowid <= @to AND sender_id = @sender AND redacted = 0 RETURNING request_id, seq`,
      ),
      unreadOfUser: db.prepare<[string], { id: string; n: number }>(
        `SELECT id, ${UNREAD.user} AS n FROM rooms INDEXED BY rooms_unread_inbox_of_user
         WHERE user_id = ? AND ${UNREAD.user} > 0`,
      ),
      unreadOfWorkshop: db.prepare<[string], { id: string; n: number }>(
        `SELECT id, ${UNREAD.workshop} AS n FROM rooms INDEXED BY rooms_unread_inbox_of_workshop
         WHERE workshop_id = ? AND ${UNREAD.workshop} > 0`,
      ),
      insertEvent: db.prepare<[string, string, string, string]>(
        'INSERT INTO webhook_events (id, request_id, body, created_at) VALUES (?, ?, ?, ?)',
      ),
      // An erasure's: the events waiting that may carry the sender's messages (a scan: few wait).
      eventsMentioning: db.prepare<[string], { position: number; body: string }>(
        'SELECT position, body FROM webhook_events WHERE instr(body, ?) > 0',
      ),
      rewriteEvent: db.prepare<[string, number]>('UPDATE webhook_events SET body = ? WHERE position = ?'),
      // Where each room's events lie, and when its oldest is due: read once, when the store opens.
      eventRooms: db.prepare<[], { request_id: string; first: number; last: number }>(
        'SELECT request_id, min(position) AS first, max(position) AS last FROM webhook_events GROUP BY request_id',
      ),
      eventDueAt: db.prepare<[number], number>('SELECT due_at FROM webhook_events WHERE position = ?').pluck(),
      startUnread: {
        user: db.prepare('UPDATE rooms SET user_unread_since = @now WHERE id = @id AND user_unread_since IS NULL'),
        workshop: db.prepare('UPDATE rooms SET workshop_unread_since = @now WHERE id = @id AND workshop_unread_since IS NULL'),
      },
      endUnread: {
        user: db.prepare<[string]>('UPDATE rooms SET user_unread_since = NULL WHERE id = ?'),
        workshop: db.prepare<[string]>('UPDATE rooms SET workshop_unread_since = NULL WHERE id = ?'),
      },
      unreadSince: {
        user: db.prepare<[string], RoomRow & { since: string }>(
          `SELECT ${ROOM_COLUMNS}, user_unread_since AS since FROM rooms WHERE user_unread_since > '' AND user_unread_since <= ? LIMIT 200`,
        ),
        workshop: db.prepare<[string], RoomRow & { since: string }>(
          `SELECT ${ROOM_COLUMNS}, workshop_unread_since AS since FROM rooms WHERE workshop_unread_since > '' AND workshop_unread_since <= ? LIMIT 200`,
        ),
      },
      reminded: {
        user: db.prepare<[string]>("UPDATE rooms SET user_unread_since = '' WHERE id = ?"),
        workshop: db.prepare<[string]>("UPDATE rooms SET workshop_unread_since = '' WHERE id = ?"),
      },
      oldestUnread: db.prepare<[string, number, string], MessageRow>(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE request_id = ? AND seq > ? AND side <> ? ORDER BY seq LIMIT 1`,
      ),
      headOf: db.prepare<{ room: string; from: number; tail: number }, PendingEvent>(
        `SELECT position, id, request_id, body, created_at, attempts FROM webhook_events
         WHERE position >= @from AND position <= @tail AND request_id = @room ORDER BY position LIMIT 1`,
      ),
      removeEvent: db.prepare<[number]>('DELETE FROM webhook_events WHERE position = ?'),
      retryEvent: db.prepare<[number, number, number]>('UPDATE webhook_events SET attempts = ?, due_at = ? WHERE position = ?'),
      eventBacklog: db.prepare<[], { count: number; oldest: string | null }>(
        'SELECT count(*) AS count, (SELECT created_at FROM webhook_events ORDER BY position LIMIT 1) AS oldest FROM webhook_events',
      ),
    };
    this.outbox = options.events ? this.#eventOutbox() : null;
    for (const side of ['user', 'workshop'] as const) {
      for (const after of [false, true]) {
        for (const q of [false, true]) {
          for (const unread of [false, true]) {
            const shape = { side, after, q, unread };
            this.#inbox.set(inboxKey(shape), db.prepare<InboxParams, InboxRow>(inboxSql(shape)));
          }
        }
      }
    }
    for (const m of this.#stmt.uncopied.iterate()) this.#recentClientIds.add(m.request_id, m.side, m.sender_id, m.client_id, m.seq);
    this.#recentClientIds.commit();
    this.#runOne = db.transaction((op: PendingWrite) => op.run());
    const put = db.transaction((input: RoomPut) => this.#putRow(input));
    this.#put = (input) => put.immediate(input);
    this.#runBatch = db.transaction((batch: PendingWrite[]) => {
      const results = batch.map((op) => op.run());
      if (this.#recentClientIds.size >= COPY_CLIENT_IDS_AT) this.#copyClientIds();
      return results;
    });
  }

  #append(input: NewMessage): AppendResult {
    const recent =
      input.client_id === null ? undefined : this.#recentClientIds.seqOf(input.request_id, input.side, input.sender.id, input.client_id);
    const stored = recent === undefined ? undefined : this.#stored(input.request_id, recent);
    if (stored) return stored;
    const created_at = isoNow();
    if (input.side === 'system') return this.#appendSystem(input, created_at);
    const nextSeq = input.side === 'user' ? this.#stmt.nextSeqOfUser : this.#stmt.nextSeqOfWorkshop;
    const next = nextSeq.get(created_at, input.request_id, input.holder ?? null, input.client_id, input.sender.id);
    if (!next) return this.#noSeq(input);
    const message = this.#insert(input, next.last_seq, created_at);
    const recipientSide: Side = input.side === 'user' ? 'workshop' : 'user';
    const total = this.#stmt.oneMoreUnread.get(recipientSide, next.recipient) as number;
    return { message, created: true, recipient_unread: { count: next.count, total }, recipient: next.recipient };
  }

  /** A system message: one more unread for each side, in the room and in its holder's total. */
  #appendSystem(input: NewMessage, created_at: string): AppendResult {
    const next = this.#stmt.nextSeqOfSystem.get(created_at, input.request_id, input.client_id, input.sender.id);
    if (!next) return this.#noSeq(input);
    const message = this.#insert(input, next.last_seq, created_at);
    const workshop = this.#stmt.oneMoreUnread.get('workshop', next.workshop_id) as number;
    const user = this.#stmt.oneMoreUnread.get('user', next.user_id) as number;
    return {
      message,
      created: true,
      recipient_unread: { count: next.workshop_count, total: workshop },
      recipient: next.workshop_id,
      owner_recipient: { unread: { count: next.user_count, total: user }, recipient: next.user_id },
    };
  }

  /**
   * The rare way, when the seq's update took nothing: says which of its conditions failed, a retry
   * first (answered in any room, closed or not), then no room, closed, not the holder.
   */
  #noSeq(input: NewMessage): AppendResult {
    const copied =
      input.client_id === null ? undefined : this.#stmt.copiedSeq.get(input.request_id, input.client_id, input.side, input.sender.id);
    const retried = copied === undefined ? undefined : this.#stored(input.request_id, copied);
    if (retried) return retried;
    const room = this.#stmt.getRoom.get(input.request_id);
    if (!room) throw new Error(`no such room: ${input.request_id}`);
    if (room.status === 'closed') throw new RoomClosedError(`room ${input.request_id} is closed`);
    throw new NotHolderError(`room ${input.request_id} is no longer held by ${input.holder}`);
  }

  /** Stores the message under the seq its room's update took; part of the append's transaction. */
  #insert(input: NewMessage, seq: number, created_at: string): Message {
    // A plain literal for a message of text alone (nearly all): V8 defines a property that follows a
    // spread in its runtime, at every append. The keys are in the wire's order either way.
    const message: Message =
      input.data === undefined && input.attachments === undefined
        ? { id: newId('m'), request_id: input.request_id, seq, sender: input.sender, body: input.body, client_id: input.client_id, created_at }
        : {
            id: newId('m'),
            request_id: input.request_id,
            seq,
            sender: input.sender,
            body: input.body,
            ...(input.data !== undefined && { data: input.data }),
            client_id: input.client_id,
            created_at,
            ...(input.attachments !== undefined && { attachments: input.attachments }),
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
      input.data === undefined ? null : JSON.stringify(input.data),
      message.client_id,
      message.created_at,
      input.attachments === undefined ? null : storedAttachments(input.attachments),
    );
    if (input.client_id !== null) this.#recentClientIds.add(input.request_id, input.side, input.sender.id, input.client_id, message.seq);
    if (this.outbox) {
      this.#record(messageCreated(message));
      // An unread episode begins for the recipients that had none.
      if (input.side !== 'user') this.#beginUnread('user', message);
      if (input.side !== 'workshop') this.#beginUnread('workshop', message);
    }
    return message;
  }

  /** Part of an append's transaction: the side's unread episode begins, unless one has. */
  #beginUnread(side: Side, message: Message): void {
    if (this.#unreadBegun[side].has(message.request_id)) return;
    this.#stmt.startUnread[side].run({ id: message.request_id, now: message.created_at });
    this.#unreadBeginning[side].add(message.request_id);
  }

  /** Part of a transaction: the side's unread episode ends (it read, or has nothing unread). */
  #endUnread(side: Side, requestId: string): void {
    this.#stmt.endUnread[side].run(requestId);
    this.#unreadBegun[side].delete(requestId);
    this.#unreadBeginning[side].delete(requestId);
  }

  /** The answer to a retried send: the message stored under its client_id. */
  #stored(requestId: string, seq: number): AppendResult | undefined {
    const existing = this.#stmt.getMessage.get(requestId, seq);
    return existing && { message: toMessage(existing), created: false, recipient_unread: { count: 0, total: 0 }, recipient: null };
  }

  #moveCursor({ requestId, side, seq, holder }: CursorMove): CursorResult {
    const before = this.#stmt.getRoom.get(requestId);
    if (!before) throw new Error(`no such room: ${requestId}`);
    if (holder !== undefined && before[`${side}_id` as const] !== holder) {
      throw new NotHolderError(`room ${requestId} is no longer held by ${holder}`);
    }
    const stmt = side === 'user' ? this.#stmt.advanceUser : this.#stmt.advanceWorkshop;
    const after = stmt.get({ seq: seq ?? Number.MAX_SAFE_INTEGER, id: requestId }) ?? before;
    const principal = side === 'user' ? before.user_id : before.workshop_id;
    const read = after[`${side}_seen`] - before[`${side}_seen`];
    const total =
      read > 0
        ? (this.#stmt.addToTotal.get({ side, principal, n: -read }) as { total: number }).total
        : (this.#stmt.total.get(side, principal)?.total ?? 0);
    const count =
      side === 'user' ? after.workshop_sent + after.system_sent - after.user_seen : after.user_sent + after.system_sent - after.workshop_seen;
    const read_cursors = { user: after.user_cursor, workshop: after.workshop_cursor };
    if (this.outbox && after !== before) {
      this.#record(roomRead(requestId, side, read_cursors, count));
      this.#endUnread(side, requestId);
    }
    return {
      read_cursors,
      moved: after !== before,
      reader_unread: { count, total },
    };
  }

  async createRoom(input: NewRoom): Promise<Room> {
    const room: Room = { id: newId('r'), ...input, created_at: new Date().toISOString(), status: 'open', user_name: null, workshop_name: null };
    if (this.outbox) {
      try {
        this.#db.transaction(() => {
          this.#insertRoom(room);
          this.#record(roomCreated({ ...room, last_seq: 0, read_cursors: { user: 0, workshop: 0 } }));
        })();
      } catch (error) {
        this.#recorded = [];
        throw error;
      }
      this.#afterCommit();
    } else {
      this.#insertRoom(room);
    }
    this.#checkpointer.committed();
    return room;
  }

  #insertRoom(room: Room): void {
    const keys = searchKeys(room);
    this.#stmt.insertRoom.run(
      room.id,
      room.user_id,
      room.workshop_id,
      room.title,
      room.created_at,
      room.created_at,
      keys.user_search,
      keys.workshop_search,
    );
  }

  async putRoom(input: RoomPut): Promise<PutResult> {
    let result: PutResult;
    try {
      result = this.#put(input);
    } catch (error) {
      this.#recorded = [];
      throw error;
    }
    this.#afterCommit();
    this.#checkpointer.committed();
    return result;
  }

  /** Part of a write's transaction. */
  #record(event: RecordedEvent): void {
    const { lastInsertRowid } = this.#stmt.insertEvent.run(event.id, event.request_id, event.body, event.created_at);
    this.#recorded.push({ ...event, position: Number(lastInsertRowid), attempts: 0 });
  }

  /** After a commit: the delivery loop hears of the events it recorded. */
  #afterCommit(): void {
    for (const side of ['user', 'workshop'] as const) {
      const beginning = this.#unreadBeginning[side];
      if (beginning.size === 0) continue;
      const begun = this.#unreadBegun[side];
      if (begun.size + beginning.size > UNREAD_BEGUN_CAP) begun.clear();
      for (const room of beginning) begun.add(room);
      beginning.clear();
    }
    if (this.#recorded.length === 0) return;
    for (const event of this.#recorded) {
      const known = this.#eventRooms.get(event.request_id);
      const kept = this.#eventsInMemory < this.#eventsInMemoryCap;
      if (kept) this.#eventsInMemory++;
      if (!known) {
        this.#eventRooms.set(event.request_id, { from: event.position, tail: event.position, dueAt: 0, queue: kept ? [event] : null });
        continue;
      }
      known.tail = event.position;
      if (known.queue && kept) known.queue.push(event);
      else if (kept) this.#eventsInMemory--;
      else this.#forgetQueue(known);
    }
    this.#recorded = [];
    this.#onRecorded?.();
  }

  /** The room's events are read from the table from now on, until it has none. */
  #forgetQueue(known: EventRoom): void {
    if (!known.queue) return;
    this.#eventsInMemory -= known.queue.length;
    known.queue = null;
  }

  /** The deletes gathered, in the transaction of this turn; should it fail, they are tried again. */
  #writeDeletes(): void {
    this.#deleteTimer = null;
    const positions = this.#deletes;
    this.#deletes = [];
    if (positions.length === 0) return;
    this.#enqueue(() => {
      for (const position of positions) this.#stmt.removeEvent.run(position);
    }).catch(() => {
      if (this.#closed) return;
      // Delivered already: until the delete succeeds the table keeps them, sent again only after a restart.
      this.#deletes.push(...positions);
      this.#deleteTimer ??= setTimeout(() => this.#writeDeletes(), DELETE_WITHIN_MS);
    });
  }

  /** Delivered or given up: the event leaves its room (its delete follows). */
  #removed(event: PendingEvent): void {
    const known = this.#eventRooms.get(event.request_id);
    if (!known) return;
    if (known.queue?.[0]?.position === event.position) {
      known.queue.shift();
      this.#eventsInMemory--;
    }
    known.from = event.position + 1;
    known.dueAt = 0;
    if (known.from > known.tail) {
      this.#forgetQueue(known);
      this.#eventRooms.delete(event.request_id);
    }
  }

  #eventOutbox(): EventOutbox {
    for (const { request_id, first, last } of this.#stmt.eventRooms.all()) {
      this.#eventRooms.set(request_id, { from: first, tail: last, dueAt: this.#stmt.eventDueAt.get(first) ?? 0, queue: null });
    }
    return {
      due: async (now, limit, busy) => {
        const stmt = this.#readable().headOf;
        const heads: PendingEvent[] = [];
        for (const [room, known] of this.#eventRooms) {
          if (heads.length === limit) break;
          if (known.dueAt > now || busy.has(room)) continue;
          const head = known.queue?.[0] ?? stmt.get({ room, from: known.from, tail: known.tail });
          if (head) {
            known.from = head.position;
            heads.push(head);
          } else {
            this.#eventRooms.delete(room);
          }
        }
        return heads.sort((a, b) => a.position - b.position);
      },
      // Gone from its room at once, so that the room's next event goes without waiting for a commit;
      // deleted within DELETE_WITHIN_MS, the deletes gathered in one write of a transaction (the
      // appends', while messages come): a delivered event costs no commit of its own.
      remove: async (event) => {
        this.#removed(event);
        this.#deletes.push(event.position);
        this.#deleteTimer ??= setTimeout(() => this.#writeDeletes(), DELETE_WITHIN_MS);
      },
      retryAt: async (event, attempts, dueAt) => {
        await this.#enqueue(() => this.#stmt.retryEvent.run(attempts, dueAt, event.position));
        const known = this.#eventRooms.get(event.request_id);
        if (!known) return;
        known.dueAt = dueAt;
        if (known.queue?.[0]?.position === event.position) known.queue[0] = { ...known.queue[0], attempts };
      },
      backlog: async () => this.#readable().eventBacklog.get() as { count: number; oldest: string | null },
      // A file beside the database, not a table: a flag read once at start, and no migration for it.
      deliveryOffFor: async () => {
        try {
          return readFileSync(this.#deliveryOffFile, 'utf8').trim() || null;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw error;
        }
      },
      turnDeliveryOff: async (fingerprint) => {
        const temporary = `${this.#deliveryOffFile}.tmp`;
        writeFileSync(temporary, `${fingerprint}\n`);
        renameSync(temporary, this.#deliveryOffFile);
      },
      onRecorded: (listener) => {
        this.#onRecorded = listener;
      },
      remindUnread: (before, connected) =>
        this.#enqueue(() => {
          let recorded = 0;
          for (const side of ['user', 'workshop'] as const) {
            for (const row of this.#stmt.unreadSince[side].all(before)) {
              const unread = side === 'user' ? row.workshop_sent + row.system_sent - row.user_seen : row.user_sent + row.system_sent - row.workshop_seen;
              if (unread <= 0) {
                this.#endUnread(side, row.id);
                continue;
              }
              this.#stmt.reminded[side].run(row.id);
              const oldest = this.#stmt.oldestUnread.get(row.id, row[`${side}_cursor`], side);
              const room = toRoomState(row);
              const principal: Principal = side === 'user' ? { side, userId: room.user_id } : { side, workshopId: room.workshop_id };
              this.#record(unreadReminder(room, side, unread, oldest ? toMessage(oldest) : null, row.since, connected(principal)));
              recorded++;
            }
          }
          return recorded;
        }),
    };
  }

  /** Part of a transaction: the insert of a new id and the update of an existing one cannot interleave. */
  #putRow(input: RoomPut): PutResult {
    const fresh = { title: input.title, user_name: input.user_name ?? null, workshop_name: input.workshop_name ?? null };
    const inserted = this.#stmt.insertRoomIfNew.run({
      id: input.id,
      user_id: input.user_id,
      workshop_id: input.workshop_id,
      created_at: new Date().toISOString(),
      status: input.status ?? 'open',
      ...fresh,
      ...searchKeys(fresh),
    });
    const row = this.#stmt.getRoom.get(input.id) as RoomRow;
    if (inserted.changes === 1) {
      if (this.outbox) this.#record(roomCreated(toRoomState(row)));
      return { outcome: 'created', room: toRoomState(row) };
    }
    if (row.user_id !== input.user_id) return { outcome: 'moved', room: toRoomState(row) };
    const updated: RoomRow = {
      ...row,
      workshop_id: input.workshop_id,
      title: input.title,
      status: input.status ?? row.status,
      user_name: input.user_name === undefined ? row.user_name : input.user_name,
      workshop_name: input.workshop_name === undefined ? row.workshop_name : input.workshop_name,
    };
    this.#stmt.updateRoom.run({
      id: input.id,
      workshop_id: updated.workshop_id,
      title: updated.title,
      status: updated.status,
      user_name: updated.user_name,
      workshop_name: updated.workshop_name,
      ...searchKeys(updated),
    });
    // A reassignment: the workshop side's unread here leaves the old workshop's total for the new one's.
    const unread = row.user_sent + row.system_sent - row.workshop_seen;
    if (updated.workshop_id !== row.workshop_id && unread > 0) {
      this.#stmt.addToTotal.get({ side: 'workshop', principal: row.workshop_id, n: -unread });
      this.#stmt.addToTotal.get({ side: 'workshop', principal: updated.workshop_id, n: unread });
    }
    const event = this.outbox ? roomUpdated(toRoomState(updated), toRoomState(row)) : null;
    if (event) this.#record(event);
    return { outcome: 'updated', room: toRoomState(updated), before: toRoomState(row) };
  }

  async getRoom(id: string): Promise<RoomState | null> {
    const row = this.#stmt.getRoom.get(id);
    return row ? toRoomState(row) : null;
  }

  async listRooms(principal: Principal, query: InboxQuery): Promise<InboxPage> {
    const q = query.q === undefined ? undefined : foldForSearch(query.q);
    const params = { principal: principalKey(principal), limit: query.limit + 1, ...query.after, ...(q !== undefined && { q }) };
    const shape = { side: principal.side, after: query.after !== null, q: q !== undefined, unread: query.unread === true };
    const rows = (this.#inbox.get(inboxKey(shape)) as Database.Statement<InboxParams, InboxRow>).all(params);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const next = rows.length > query.limit && last ? { last_activity: last.last_activity, id: last.id } : null;
    return { rooms: page.map(toListing), next };
  }

  appendMessage(input: NewMessage): Promise<AppendResult> {
    return this.#enqueue(() => this.#append(input));
  }

  advanceCursor(requestId: string, side: Side, seq: number | null, holder?: string): Promise<CursorResult> {
    return this.#enqueue(() => this.#moveCursor({ requestId, side, seq, holder }));
  }

  #enqueue<T>(run: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreUnavailableError('store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ run, resolve: resolve as (result: never) => void, reject });
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
    let results: unknown[];
    try {
      const started = this.onCommit === null ? 0 : performance.now();
      results = this.#committed(() => this.#runBatch(batch));
      this.onCommit?.((performance.now() - started) / 1000, batch.length);
    } catch (error) {
      // The batch rolled back as a whole: nothing of it is stored, no seq is taken, no counter moved.
      if (isStoreUnavailable(error)) {
        // The storage failed (disk full, I/O): one transaction each would fail alike and only add
        // writes to a failing disk. Every write gets the one error, which is logged once.
        this.#checkpointer.writeFailed();
        for (const op of batch) op.reject(error);
        return;
      }
      // One bad write: one transaction each keeps the good ones and fails only the bad.
      for (const op of batch) {
        try {
          op.resolve(this.#committed(() => this.#runOne(op)) as never);
        } catch (opError) {
          op.reject(opError);
        }
      }
      return;
    }
    batch.forEach((op, i) => op.resolve(results[i] as never));
  }

  /** Runs one transaction; the client_ids it added in memory, or copied out of it, count only if it committed. */
  #committed<T>(transaction: () => T): T {
    try {
      const result = transaction();
      this.#recentClientIds.commit();
      this.#checkpointer.committed();
      this.#afterCommit();
      return result;
    } catch (error) {
      this.#recentClientIds.rollback();
      this.#recorded = [];
      this.#unreadBeginning.user.clear();
      this.#unreadBeginning.workshop.clear();
      throw error;
    }
  }

  /** Copies the client_ids of the messages stored since the last copy into the table; part of a batch's transaction. */
  #copyClientIds(): void {
    this.#stmt.copy.run();
    this.#stmt.copiedThrough.run();
    this.#recentClientIds.copied();
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

  async *exportMessages(senderId: string): AsyncIterable<Message[]> {
    for (let from = 0; from < this.#readable().lastRowid.get()!; from += SCAN_ROWS) {
      const to = from + SCAN_ROWS;
      for (let after = from; ; ) {
        const rows = this.#readable().messagesOfSender.all({ from: after, to, sender: senderId, limit: EXPORT_PAGE });
        if (rows.length > 0) yield rows.map(toMessage);
        if (rows.length < EXPORT_PAGE) break;
        after = (rows.at(-1) as { position: number }).position;
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  async redactMessagesOf(senderId: string, onRedacted: (part: RedactedMessage[]) => void): Promise<number> {
    let count = 0;
    for (let from = 0; from < this.#readable().lastRowid.get()!; from += SCAN_ROWS) {
      const to = from + SCAN_ROWS;
      // With the appends of its turn, in their order and their transaction.
      const part = await this.#enqueue(() => this.#stmt.redactOfSender.all({ from, to, sender: senderId }));
      if (part.length === 0) continue;
      count += part.length;
      onRedacted(part);
    }
    await this.#enqueue(() => {
      // The events kept in memory may carry the old text: from now on they are read from the table.
      for (const known of this.#eventRooms.values()) this.#forgetQueue(known);
      for (const { position, body } of this.#stmt.eventsMentioning.all(senderMention(senderId))) {
        const redacted = redactedEventBody(body, senderId);
        if (redacted !== null) this.#stmt.rewriteEvent.run(redacted, position);
      }
    });
    // The WAL still holds the pages as they were before the update, and those of the inserts.
    if (!this.#checkpointer.truncate()) {
      throw new StoreUnavailableError('the WAL could not be checkpointed and truncated after an erasure; repeat it');
    }
    return count;
  }

  /** The statements, while the store is open. */
  #readable() {
    if (this.#closed) throw new StoreUnavailableError('store is closed');
    return this.#stmt;
  }

  async unread(principal: Principal): Promise<UnreadSnapshot> {
    const rows =
      principal.side === 'user'
        ? this.#stmt.unreadOfUser.all(principal.userId)
        : this.#stmt.unreadOfWorkshop.all(principal.workshopId);
    const rooms: Record<string, number> = {};
    let total = 0;
    for (const { id, n } of rows) {
      rooms[id] = n;
      total += n;
    }
    return { total, rooms };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#deleteTimer) clearTimeout(this.#deleteTimer);
    this.#writeDeletes();
    this.#closed = true;
    this.#flush();
    await this.#checkpointer.close();
    // The last connection to close checkpoints what is left and removes the WAL.
    this.#db.close();
    this.#lock.release();
  }
}
