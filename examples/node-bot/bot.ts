// A workshop's answering bot on the SDK in Node: it follows the unread counts of every room of its
// workshop, opens a room as soon as something is unread there, answers the questions it knows,
// and marks the room read. Run it next to a server started with `npm start` (see README.md).
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { ChatClient, type ChatMessage, type Room } from '@motoreach/chat-client';

export interface BotOptions {
  baseUrl: string;
  token: string | (() => Promise<string>);
  log?: (line: string) => void;
}

// #region answers
const ANSWERS: [RegExp, string][] = [
  [/opening hours|when are you open/i, 'We are open Mon–Fri, 8:00–18:00.'],
  [/price|cost|how much/i, 'A workshop admin will send you a quote shortly.'],
];

export function answerFor(body: string): string | null {
  return ANSWERS.find(([question]) => question.test(body))?.[1] ?? null;
}
// #endregion answers

export function startBot({ baseUrl, token, log = console.log }: BotOptions): { close(): void } {
  // #region bot
  // `ws` here; leave the option out and Node's own global WebSocket is used instead.
  const client = new ChatClient({ baseUrl, token, WebSocket });
  const rooms = new Map<string, Room>();
  const answered = new Set<string>();

  async function reply(room: Room, message: ChatMessage): Promise<void> {
    const key = `${room.requestId}#${message.seq}`;
    if (answered.has(key)) return;
    answered.add(key);
    const answer = answerFor(message.body);
    if (answer) await room.send(answer);
    await room.markRead();
  }

  async function join(requestId: string): Promise<void> {
    if (rooms.has(requestId)) return;
    const room = client.room(requestId);
    rooms.set(requestId, room);
    room.on('message', ({ message, own }) => {
      if (!own) void reply(room, message);
    });
    await room.connect();
    // What was written before the bot joined came with the history, not as `message` events.
    const readUpTo = room.readCursors.workshop;
    for (const message of room.messages) {
      if (message.seq !== null && message.seq > readUpTo && message.sender.role === 'user') await reply(room, message);
    }
  }

  const notifications = client.notifications();
  notifications.on('unread', ({ total, rooms: counts }) => {
    log(`unread: ${total}`);
    for (const [requestId, count] of Object.entries(counts)) if (count > 0) void join(requestId);
  });
  notifications.on('notification', ({ request_id, message }) => log(`${request_id} ${message.sender.name}: ${message.body}`));
  // #endregion bot

  return { close: () => client.close() };
}

// `npm start`: a bot for workshop w-1 with a token from the development server's demo endpoint,
// or the token in CHAT_TOKEN.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const baseUrl = process.env.CHAT_URL ?? 'http://127.0.0.1:8080';
  const devToken = async () => {
    const res = await fetch(`${baseUrl}/api/dev/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sub: 'a-bot', role: 'workshop_admin', workshop_id: 'w-1', name: 'Workshop bot' }),
    });
    return ((await res.json()) as { token: string }).token;
  };
  const bot = startBot({ baseUrl, token: process.env.CHAT_TOKEN ?? devToken });
  process.on('SIGINT', () => bot.close());
  process.on('SIGTERM', () => bot.close());
}
