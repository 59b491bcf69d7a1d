import jwt from 'jsonwebtoken';
import WebSocket from 'ws';
import { isReferenceServer, type ServerUnderTest } from './processes.js';

/** When a socket counts as set up: on open (baselines) or on its first frame (`ready` / `unread`). */
type ReadyOn = 'open' | 'first-frame';

export function mintToken(secret: string, claims: { sub: string; role: 'user' | 'workshop_admin'; workshop_id?: string; name?: string }): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: '1h' });
}

function connect(url: string, readyOn: ReadyOn): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const fail = (why: string) => {
      ws.terminate();
      reject(new Error(`${url.replace(/token=[^&]+/, 'token=…')}: ${why}`));
    };
    ws.once('error', (err) => fail(err.message));
    ws.once('close', (code) => fail(`closed with ${code} before it was ready`));
    const ready = () => {
      ws.removeAllListeners('close');
      ws.on('error', () => {});
      resolve(ws);
    };
    if (readyOn === 'open') ws.once('open', ready);
    else ws.once('message', ready);
  });
}

/** Opens every URL, `concurrency` handshakes at a time. */
export async function connectAll(urls: string[], readyOn: ReadyOn, concurrency = 200): Promise<WebSocket[]> {
  const sockets: WebSocket[] = new Array(urls.length);
  let next = 0;
  const worker = async () => {
    while (next < urls.length) {
      const i = next++;
      sockets[i] = await connect(urls[i]!, readyOn);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
  return sockets;
}

export async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.close();
          setTimeout(() => ws.terminate(), 2000).unref();
        }),
    ),
  );
}

async function createRoom(httpUrl: string, ownerToken: string, workshopId: string, title: string): Promise<string> {
  const res = await fetch(`${httpUrl}/api/service-requests/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ownerToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workshop_id: workshopId, title }),
  });
  if (res.status !== 201) throw new Error(`create room: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** The two sockets of one participant: where it chats, and the second one it holds idle. */
interface ParticipantUrls {
  chat: string;
  side: string;
}

/** One room's two participants (owner, admin) for a server, with real rooms and tokens for (c). */
export async function planRooms(server: ServerUnderTest, rooms: number, secret: string): Promise<Array<[ParticipantUrls, ParticipantUrls]>> {
  const plan: Array<[ParticipantUrls, ParticipantUrls]> = [];
  for (let i = 0; i < rooms; i++) {
    if (!isReferenceServer(server.key)) {
      plan.push([
        { chat: `${server.wsUrl}/room/${i}`, side: `${server.wsUrl}/idle/${i}/owner` },
        { chat: `${server.wsUrl}/room/${i}`, side: `${server.wsUrl}/idle/${i}/admin` },
      ]);
      continue;
    }
    const owner = mintToken(secret, { sub: `u-${i}`, role: 'user', name: `Owner ${i}` });
    const admin = mintToken(secret, { sub: `a-${i}`, role: 'workshop_admin', workshop_id: `w-${i}`, name: `Admin ${i}` });
    const id = await createRoom(server.httpUrl, owner, `w-${i}`, `Service request ${i}`);
    const chat = (token: string) => `${server.wsUrl}/ws/service-chat/${encodeURIComponent(id)}/?token=${token}`;
    const notifications = (token: string) => `${server.wsUrl}/ws/notifications/?token=${token}`;
    plan.push([
      { chat: chat(owner), side: notifications(owner) },
      { chat: chat(admin), side: notifications(admin) },
    ]);
  }
  return plan;
}

export interface LoopResult {
  delivered: number;
  seconds: number;
  msgsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** CPU the server used over the measured run, as a share of one core. */
  serverCpu: number;
  /** Server CPU time per delivered message: steadier than msgs/s when other processes share the machine. */
  serverCpuUsPerMessage: number;
  /** The same, of the server's main thread alone: the event loop, which bounds throughput; worker threads run beside it. */
  serverMainThreadUsPerMessage: number;
  loadCpu: number;
  /**
   * (w) only: the events (rooms created, messages) not yet delivered when the last message arrived;
   * the CPU figures include their delivery, the loop waiting for the receiver to have them all.
   */
  webhookBacklog: number;
  /** (c) only: chat frames whose seq was not the previous one + 1, and notifications that never came. */
  seqErrors: number;
  missingNotifications: number;
}

const BODY = 'The front brakes squeak when I stop at low speed; could you take a look on Tuesday? #';

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

class Participant {
  chat!: WebSocket;
  side!: WebSocket;
  peer!: Participant;
  readonly sentAt: Float64Array;
  sent = 0;
  lastSeq = 0;
  notifications = 0;

  constructor(
    readonly index: number,
    total: number,
  ) {
    this.sentAt = new Float64Array(total);
  }

  sendNext(): void {
    const n = this.sent++;
    this.sentAt[n] = performance.now();
    this.chat.send(JSON.stringify({ type: 'message', body: BODY + n, client_id: `p${this.index}-${n}` }));
  }
}

/**
 * The closed loop: every participant sends its next message as soon as its
 * previous one comes back to it, and latency is the time from a send to the
 * moment the other participant's socket gets it. Both ends live here, on one
 * clock. `warmup` messages each go first and are not measured.
 */
export async function closedLoop(
  server: ServerUnderTest,
  plan: Array<[ParticipantUrls, ParticipantUrls]>,
  messages: number,
  warmup: number,
  /** Called when the measured part begins; what it returns, when it ends (bench/server-instructions.ts). */
  measuring: () => () => void = () => () => {},
): Promise<LoopResult> {
  const reference = isReferenceServer(server.key);
  const readyOn: ReadyOn = reference ? 'first-frame' : 'open';
  const perParticipant = warmup + messages;
  const participants = plan.flatMap((_, r) => [new Participant(2 * r, perParticipant), new Participant(2 * r + 1, perParticipant)]);
  const urls = plan.flat();
  const [chats, sides] = await Promise.all([
    connectAll(urls.map((u) => u.chat), readyOn),
    connectAll(urls.map((u) => u.side), readyOn),
  ]);
  participants.forEach((p, i) => {
    p.chat = chats[i]!;
    p.side = sides[i]!;
    p.peer = participants[i ^ 1]!;
  });

  const latencies = new Float64Array(participants.length * messages);
  let samples = 0;
  let seqErrors = 0;
  let target = 0;
  let pending = 0;
  let lastDelivery = 0;
  let phaseDone: (() => void) | null = null;

  for (const p of participants) {
    p.chat.on('message', (data) => {
      const frame = JSON.parse(data.toString()) as Record<string, any>;
      let clientId: string;
      if (reference) {
        if (frame.type !== 'message') return;
        if (frame.message.seq !== p.lastSeq + 1) seqErrors++;
        p.lastSeq = frame.message.seq;
        clientId = frame.message.client_id;
      } else {
        clientId = frame.client_id;
      }
      const dash = clientId.indexOf('-');
      const from = Number(clientId.slice(1, dash));
      const n = Number(clientId.slice(dash + 1));
      if (from === p.index) {
        if (p.sent < target) p.sendNext();
      } else {
        const now = performance.now();
        if (n >= warmup) latencies[samples++] = now - p.peer.sentAt[n]!;
        lastDelivery = now;
      }
      if (--pending === 0) phaseDone?.();
    });
    p.side.on('message', (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type === 'notification') p.notifications++;
    });
  }

  const phase = (upTo: number) =>
    new Promise<void>((resolve, reject) => {
      // Each message is seen twice: the sender's ack and the other participant's copy.
      pending = 2 * participants.length * (upTo - target);
      target = upTo;
      const timer = setTimeout(() => reject(new Error(`closed loop stalled with ${pending} frames outstanding\n${server.output()}`)), 300_000);
      phaseDone = () => {
        clearTimeout(timer);
        resolve();
      };
      for (const p of participants) p.sendNext();
    });

  await phase(warmup);
  const measured = measuring();
  const cpuBefore = server.cpuMs();
  const mainThreadBefore = server.mainThreadCpuMs();
  const loadBefore = process.cpuUsage();
  const started = performance.now();
  await phase(perParticipant);
  const seconds = (lastDelivery - started) / 1000;
  let webhookBacklog = 0;
  if (server.webhooksAnswered) {
    // Every room's room.created and every message's message.created: the delivery of the events of
    // the run is part of its cost, even when it lags behind the sends.
    const events = plan.length + participants.length * perParticipant;
    webhookBacklog = events - (await server.webhooksAnswered());
    const deadline = Date.now() + 120_000;
    while ((await server.webhooksAnswered()) < events) {
      if (Date.now() > deadline) throw new Error(`webhook events not all delivered\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  const serverCpu = (server.cpuMs() - cpuBefore) / 1000 / seconds;
  const mainThreadMs = server.mainThreadCpuMs() - mainThreadBefore;
  const load = process.cpuUsage(loadBefore);
  const loadCpu = (load.user + load.system) / 1e6 / seconds;

  let missingNotifications = 0;
  if (reference) {
    // Notifications follow the broadcast; give the last ones a moment to land.
    const deadline = Date.now() + 5000;
    const missing = () => participants.reduce((sum, p) => sum + Math.max(0, perParticipant - p.notifications), 0);
    while (missing() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    missingNotifications = missing();
  }
  // After the notifications: the server's work for the last messages is done.
  measured();
  await closeAll([...chats, ...sides]);

  const sorted = latencies.slice(0, samples).sort();
  return {
    delivered: samples,
    seconds,
    msgsPerSecond: samples / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1]!,
    serverCpu,
    serverCpuUsPerMessage: (serverCpu * seconds * 1e6) / samples,
    serverMainThreadUsPerMessage: (mainThreadMs * 1000) / samples,
    loadCpu,
    webhookBacklog,
    seqErrors,
    missingNotifications,
  };
}

export interface IdleResult {
  connections: number;
  /** Per connection, from RSS after a forced collection, before and after. */
  kibPerConnection: number;
  /** The same without forcing a collection: RSS once the sockets have settled. */
  kibPerConnectionNoGc: number;
  /** V8 heap (JS objects) growth per connection after a forced collection: the part of the RSS growth that is JS. */
  heapKibPerConnection: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
}

async function settledRss(server: ServerUnderTest): Promise<number> {
  // RSS keeps moving for a moment after the last handshake; wait until it holds still.
  let last = server.rssKiB();
  for (let i = 0; i < 40; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = server.rssKiB();
    if (Math.abs(now - last) < 64) return now;
    last = now;
  }
  return last;
}

/** URLs of idle connections: baselines by room path; (c) authenticated chat sockets or notification sockets. */
export async function idleUrls(server: ServerUnderTest, count: number, secret: string, kind: 'chat' | 'notifications'): Promise<string[]> {
  const rooms = 50;
  if (!isReferenceServer(server.key)) return Array.from({ length: count }, (_, i) => `${server.wsUrl}/room/${i % rooms}`);
  if (kind === 'notifications') {
    return Array.from({ length: count }, (_, i) => {
      const token = mintToken(secret, { sub: `idle-${i}`, role: 'user', name: `Idle ${i}` });
      return `${server.wsUrl}/ws/notifications/?token=${token}`;
    });
  }
  // Per room: the owner in half the sockets (tabs), a different admin of the workshop in each other one.
  const urls: string[] = [];
  for (let r = 0; r < rooms; r++) {
    const owner = mintToken(secret, { sub: `idle-owner-${r}`, role: 'user', name: `Owner ${r}` });
    const id = await createRoom(server.httpUrl, owner, `idle-w-${r}`, `Idle room ${r}`);
    const perRoom = Math.ceil(count / rooms);
    for (let k = 0; k < perRoom && urls.length < count; k++) {
      const token =
        k % 2 === 0 ? owner : mintToken(secret, { sub: `idle-admin-${r}-${k}`, role: 'workshop_admin', workshop_id: `idle-w-${r}`, name: `Admin ${k}` });
      urls.push(`${server.wsUrl}/ws/service-chat/${encodeURIComponent(id)}/?token=${token}`);
    }
  }
  return urls;
}

/** RSS growth of the server per idle connection, at `urls.length` connections. */
export async function idleMemory(server: ServerUnderTest, urls: string[]): Promise<IdleResult> {
  const readyOn: ReadyOn = isReferenceServer(server.key) ? 'first-frame' : 'open';
  await server.gc();
  const beforeNoGc = await settledRss(server);
  const heapBefore = await server.gc();
  const rssBeforeKiB = server.rssKiB();
  const sockets = await connectAll(urls, readyOn);
  const afterNoGc = await settledRss(server);
  const heapAfter = await server.gc();
  const rssAfterKiB = server.rssKiB();
  await closeAll(sockets);
  return {
    connections: urls.length,
    kibPerConnection: (rssAfterKiB - rssBeforeKiB) / urls.length,
    kibPerConnectionNoGc: (afterNoGc - beforeNoGc) / urls.length,
    heapKibPerConnection: (heapAfter.heapUsed - heapBefore.heapUsed) / 1024 / urls.length,
    rssBeforeKiB,
    rssAfterKiB,
  };
}
