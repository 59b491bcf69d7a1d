/**
 * The baselines of the fan-out benchmark, in one program:
 *   (a) a bare `ws` broadcast server: rooms by URL path, every frame re-sent to the room;
 *   (b) the same plus one synchronous better-sqlite3 INSERT per message (`--durable`);
 *   (n) (b) plus, per message, the notification frame the contract sends the other participant
 *       (`--durable --notify`): as many frames out per message as the reference server.
 * They show what this stack costs without and with durability, so the reference
 * server is judged against them on the same machine in the same run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { openBaselineInsert } from './baseline-insert.js';

const { values } = parseArgs({
  options: {
    durable: { type: 'boolean', default: false },
    notify: { type: 'boolean', default: false },
    synchronous: { type: 'string', default: 'full' },
    'data-dir': { type: 'string' },
  },
});

type Frame = { body: string; client_id?: string };
let insert: ((room: string, frame: Frame) => void) | null = null;
if (values.durable) {
  const dataDir = values['data-dir'];
  if (!dataDir) throw new Error('--durable needs --data-dir');
  const insertRow = openBaselineInsert(dataDir, values.synchronous);
  insert = (room, frame) => insertRow(room, frame.client_id ?? null, frame.body);
}

const rooms = new Map<string, Set<WebSocket>>();
/** The participants' second sockets, by path (`/idle/<room>/<owner|admin>`): where (n) sends notifications. */
const idle = new Map<string, WebSocket>();
let unread = 0;

/**
 * The notification of a message to the other participant: the load generator's client_id is
 * `p<participant>-<n>`, participants 2r and 2r + 1 being room r's owner and admin.
 */
function notify(room: string, frame: Frame): void {
  const from = Number(frame.client_id?.slice(1, frame.client_id.indexOf('-')));
  const peer = idle.get(`/idle/${room.slice('/room/'.length)}/${from % 2 === 0 ? 'admin' : 'owner'}`);
  peer?.send(
    JSON.stringify({
      type: 'notification',
      kind: 'message',
      request_id: room,
      message: { client_id: frame.client_id, body: frame.body.slice(0, 140), created_at: new Date().toISOString() },
      unread: { count: 1, total: ++unread },
    }),
  );
}
const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, maxPayload: 64 * 1024, perMessageDeflate: false });

wss.on('connection', (ws, req) => {
  const room = req.url ?? '/';
  if (room.startsWith('/idle/')) {
    idle.set(room, ws);
    ws.on('close', () => idle.delete(room));
    ws.on('error', () => {});
    return;
  }
  let members = rooms.get(room);
  if (!members) {
    members = new Set();
    rooms.set(room, members);
  }
  members.add(ws);
  ws.on('message', (data, isBinary) => {
    const frame = insert || values.notify ? (JSON.parse(data.toString()) as Frame) : null;
    if (frame && insert) insert(room, frame);
    for (const peer of members) peer.send(data, { binary: isBinary });
    if (frame && values.notify) notify(room, frame);
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
