/**
 * The two baselines of the fan-out benchmark, in one program:
 *   (a) a bare `ws` broadcast server: rooms by URL path, every frame re-sent to the room;
 *   (b) the same plus one synchronous better-sqlite3 INSERT per message (`--durable`).
 * They show what this stack costs without and with durability, so the reference
 * server is judged against them on the same machine in the same run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: {
    durable: { type: 'boolean', default: false },
    synchronous: { type: 'string', default: 'full' },
    'data-dir': { type: 'string' },
  },
});

let insert: ((room: string, data: RawData) => void) | null = null;
if (values.durable) {
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--durable needs --data-dir');
  mkdirSync(dataDir, { recursive: true });
  const db = new Database(join(dataDir, 'baseline.sqlite3'));
  // The reference server's pragmas, so (b) pays for durability exactly what (c) does.
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${values.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
  db.exec(
    'CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, room TEXT NOT NULL, client_id TEXT, body TEXT NOT NULL, created_at TEXT NOT NULL)',
  );
  const stmt = db.prepare('INSERT INTO messages (room, client_id, body, created_at) VALUES (?, ?, ?, ?)');
  insert = (room, data) => {
    const frame = JSON.parse(data.toString()) as { body: string; client_id?: string };
    stmt.run(room, frame.client_id ?? null, frame.body, new Date().toISOString());
  };
}

const rooms = new Map<string, Set<WebSocket>>();
const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, maxPayload: 64 * 1024, perMessageDeflate: false });

wss.on('connection', (ws, req) => {
  const room = req.url ?? '/';
  let members = rooms.get(room);
  if (!members) {
    members = new Set();
    rooms.set(room, members);
  }
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    insert?.(room, data);
    for (const peer of members) peer.send(data, { binary: isBinary });
  });
  ws.on('close', () => {
    members.delete(ws);
    if (members.size === 0) rooms.delete(room);
  });
  ws.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('SIGTERM', () => process.exit(0));
