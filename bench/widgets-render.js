// Runs in Chromium (see widgets-render.mjs). Measures <motoreach-chat> itself, not the network: the
// client handed to the widget is a stand-in whose room already holds the whole history in memory,
// exactly what the widget sees from the SDK once history is loaded.
import { MotoreachChat } from '/packages/chat-widgets/dist/motoreach-chat.min.js';

const me = { id: 'u-ana', role: 'user', name: 'Ana' };
const other = { id: 'a-bruno', role: 'workshop_admin', name: 'Bruno' };
const T0 = Date.parse('2026-11-01T08:00:00.000Z');

function message(seq) {
  const sender = seq % 3 === 0 ? me : other;
  return {
    id: `m${seq}`,
    request_id: 'r1',
    seq,
    sender,
    body: seq % 5 === 0 ? `Message ${seq}: a somewhat longer line of text that wraps over two lines in a narrow widget.` : `Message ${seq}`,
    client_id: `c${seq}`,
    created_at: new Date(T0 + seq * 97_000).toISOString(),
    state: 'sent',
  };
}

class FakeRoom {
  constructor(n) {
    this.requestId = 'r1';
    this.messages = Array.from({ length: n }, (_, i) => message(i + 1));
    this.status = 'open';
    this.me = me;
    this.side = 'user';
    this.readCursors = { user: n, workshop: n - 1 };
    this.hasOlder = false;
    this.outboxSize = 0;
    this.handlers = new Map();
  }
  on(type, fn) {
    (this.handlers.get(type) ?? this.handlers.set(type, new Set()).get(type)).add(fn);
    return () => this.off(type, fn);
  }
  off(type, fn) {
    this.handlers.get(type)?.delete(fn);
  }
  emit(type, e) {
    for (const fn of this.handlers.get(type) ?? []) fn(e);
  }
  connect() {
    return Promise.resolve();
  }
  isReadByOtherSide(m) {
    return m.seq !== null && m.seq <= this.readCursors.workshop;
  }
  markRead() {
    return Promise.resolve();
  }
  setTyping() {}
  loadOlder() {
    return Promise.resolve([]);
  }
  close() {}
  append() {
    const m = message(this.messages.length + 1);
    this.messages = [...this.messages, m];
    this.emit('change', { messages: this.messages });
    this.emit('message', { message: m, own: m.sender.id === me.id });
  }
}

// The widget holds its room through openRoom() and asks for the request's title for its header.
const fakeClient = (room) => ({
  room: () => room,
  openRoom: () => ({ room, ready: room.connect(), release() {} }),
  getRoom: () => Promise.resolve({ id: 'r1', title: 'Front brake squeals' }),
  notifications: () => ({ on: () => () => {}, unread: () => 0 }),
});

const stage = document.getElementById('stage');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const settle = async (el) => {
  await el.updateComplete;
  void el.shadowRoot.querySelector('.log').scrollHeight; // include style and layout in the figure
};

async function firstRender(n) {
  const room = new FakeRoom(n);
  const el = new MotoreachChat();
  el.client = fakeClient(room);
  el.requestId = 'r1';
  const t0 = performance.now();
  stage.append(el);
  await settle(el);
  // connect() resolved in a microtask: the history arrives in a second update.
  await settle(el);
  const t = performance.now() - t0;
  const rows = el.shadowRoot.querySelectorAll('.row').length;
  return { t, el, room, rows };
}

async function run() {
  const results = {};
  for (const n of [1000, 10000]) {
    const times = [];
    let rows = 0;
    for (let i = 0; i < 7; i++) {
      const r = await firstRender(n);
      times.push(r.t);
      rows = r.rows;
      r.el.remove();
    }
    results[`firstRender${n}`] = { medianMs: median(times), runs: times, rowsInDom: rows };
  }
  const { el, room } = await firstRender(10000);
  const appends = [];
  for (let i = 0; i < 60; i++) {
    const t0 = performance.now();
    room.append();
    await settle(el);
    appends.push(performance.now() - t0);
  }
  // Scrolling up through the history: each step reveals 50 older rows and puts the reader back in place.
  const log = el.shadowRoot.querySelector('.log');
  const steps = [];
  let maxRows = 0;
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    log.scrollTop = 0;
    log.dispatchEvent(new Event('scroll'));
    await settle(el);
    steps.push(performance.now() - t0);
    maxRows = Math.max(maxRows, el.shadowRoot.querySelectorAll('.row').length);
  }
  results.scrollUp = { medianMs: median(steps), maxMs: Math.max(...steps), steps: steps.length, maxRowsInDom: maxRows };
  results.append = { all: appends.map((x) => +x.toFixed(1)), medianMs: median(appends), p95Ms: [...appends].sort((a, b) => a - b)[Math.floor(appends.length * 0.95)], runs: appends.length, historySize: 10000 };
  el.remove();
  return results;
}

window.benchResult = run();
