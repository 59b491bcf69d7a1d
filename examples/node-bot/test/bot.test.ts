// The bot against the real reference server: an owner asks in a new room, the bot (a workshop
// admin of the same workshop) hears of it through notifications, answers, and marks it read.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ChatClient, type ChatMessage } from '@motoreach/chat-client';
import { startChatServer, type TestChatServer } from '../../test-support/chat-server.js';
import { answerFor, startBot } from '../bot.js';

let server: TestChatServer;
before(async () => {
  server = await startChatServer();
});
after(() => server.stop());

test('answers an owner question it knows and leaves others to a person, marking both read', async () => {
  const lines: string[] = [];
  const bot = startBot({
    baseUrl: server.url,
    token: server.token({ sub: 'a-bot', role: 'workshop_admin', workshop_id: 'w-1', name: 'Workshop bot' }),
    log: (line) => lines.push(line),
  });
  const owner = new ChatClient({ baseUrl: server.url, token: server.token({ sub: 'u-ana', role: 'user', name: 'Ana' }), WebSocket });
  try {
    const info = await owner.createRoom({ workshop_id: 'w-1', title: 'Brakes' });
    const room = owner.room(info.id);
    await room.connect();
    const answer = new Promise<ChatMessage>((resolve) => room.on('message', ({ message, own }) => !own && resolve(message)));
    await room.send('Hello! What are your opening hours?');
    const reply = await answer;
    assert.equal(reply.body, 'We are open Mon–Fri, 8:00–18:00.');
    assert.equal(reply.sender.name, 'Workshop bot');

    const read = new Promise<number>((resolve) => room.on('read', ({ side, last_read_seq }) => side === 'workshop' && last_read_seq === 3 && resolve(last_read_seq)));
    await room.send('My car makes a noise.');
    assert.equal(await read, 3);
    assert.equal(room.messages.length, 3);
    assert.ok(lines.includes(`${info.id} Ana: Hello! What are your opening hours?`), lines.join('\n'));
    assert.ok(lines.includes('unread: 1'), lines.join('\n'));
  } finally {
    owner.close();
    bot.close();
  }
});

test('answerFor matches questions case-insensitively and knows nothing else', () => {
  assert.equal(answerFor('HOW MUCH for new pads?'), 'A workshop admin will send you a quote shortly.');
  assert.equal(answerFor('My car makes a noise.'), null);
});
