import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Message, RoomDetail } from '../src/wire.js';

export interface ChatFrame {
  type: string;
  body?: string;
  client_id?: string;
}

/**
 * A scripted peer speaking the wire contract on 127.0.0.1 (real HTTP and WebSocket), for answers the
 * reference server does not give on cue: `error` frames with a chosen code, 503s, closes with a
 * chosen code. By default it behaves as a server would: `ready` on connect, stores and broadcasts
 * a message frame, answers history with what it stored. A test overrides `onSocket`, `onFrame` or `onPost`.
 */
export class ContractPeer {
  readonly stored: Message[] = [];
  readonly frames: ChatFrame[] = [];
  readonly posts: { client_id: string; body: string }[] = [];
  sockets = 0;
  onSocket: (ws: WebSocket, n: number) => void = (ws) => this.ready(ws);
  onFrame: (ws: WebSocket, frame: ChatFrame) => void = (ws, f) => this.store(ws, f);
  onPost: (res: ServerResponse, body: { client_id: string; body: string }) => void = (res, b) =>
    json(res, 201, { message: this.save(b.client_id, b.body) });
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  port = 0;

  constructor(private readonly requestId = 'r_peer') {
    this.http = createServer((req, res) => void this.rest(req, res));
    this.http.on('upgrade', (req, socket, head) =>
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const n = this.sockets++;
        ws.on('message', (d) => {
          const f = JSON.parse(String(d)) as ChatFrame;
          if (f.type === 'ping') return ws.send(JSON.stringify({ type: 'pong' }));
          this.frames.push(f);
          this.onFrame(ws, f);
        });
        this.onSocket(ws, n);
      }),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((r) => this.http.listen(0, '127.0.0.1', r));
    this.port = (this.http.address() as { port: number }).port;
    return this;
  }

  ready(ws: WebSocket): void {
    ws.send(
      JSON.stringify({
        type: 'ready',
        request_id: this.requestId,
        last_seq: this.stored.length,
        read_cursors: { user: 0, workshop: 0 },
        me: { id: 'u-ana', role: 'user', name: 'Ana' },
      }),
    );
  }

  /** What `GET /api/service-requests/{id}/` answers: an open room between Ana and Bo's workshop. */
  detail(): RoomDetail {
    return {
      id: this.requestId,
      user_id: 'u-ana',
      workshop_id: 'w-1',
      title: 'Brakes',
      created_at: '2026-01-01T00:00:00.000Z',
      status: 'open',
      user_name: null,
      workshop_name: null,
      read_cursors: { user: 0, workshop: 0 },
      last_seq: this.stored.length,
    };
  }

  save(clientId: string, body: string): Message {
    const known = this.stored.find((m) => m.client_id === clientId);
    if (known) return known;
    const m: Message = {
      id: `m${this.stored.length + 1}`,
      request_id: this.requestId,
      seq: this.stored.length + 1,
      sender: { id: 'u-ana', role: 'user', name: 'Ana' },
      body,
      client_id: clientId,
      created_at: new Date().toISOString(),
    };
    this.stored.push(m);
    return m;
  }

  store(ws: WebSocket, f: ChatFrame): void {
    if (f.type === 'message') ws.send(JSON.stringify({ type: 'message', message: this.save(f.client_id!, f.body!) }));
  }

  private async rest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of req) text += chunk;
    if (req.method === 'POST' && req.url?.endsWith('/messages/')) {
      const body = JSON.parse(text) as { client_id: string; body: string };
      this.posts.push(body);
      return this.onPost(res, body);
    }
    const url = new URL(req.url!, this.url);
    if (url.pathname === `/api/service-requests/${this.requestId}/`) return json(res, 200, this.detail());
    const after = Number(url.searchParams.get('after') ?? 0);
    json(res, 200, { messages: this.stored.filter((m) => m.seq > after), has_more: false, read_cursors: { user: 0, workshop: 0 } });
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    this.http.closeAllConnections();
    await new Promise<void>((r) => this.http.close(() => r()));
  }
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
