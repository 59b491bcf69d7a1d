import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { type Duplex, PassThrough } from 'node:stream';
import { test } from 'node:test';
import { frameBytes } from '../src/ws/frame-bytes.js';

type SendOptions = { binary: boolean; fin: boolean; mask: boolean; compress: boolean };
/** ws's own framing: exported by the package, not declared by its types. */
const { Sender } = createRequire(import.meta.url)('ws') as {
  Sender: new (socket: Duplex) => { send(data: string, options: SendOptions, cb: (error?: Error | null) => void): void };
};

// The sockets write a published frame's bytes as frameBytes built them, header included: they must be
// the bytes `ws` itself writes for the same text, at every size of the length field.

/** What `ws` writes for `text` as a server's text frame (unmasked, uncompressed). */
function framedByWs(text: string): Promise<Buffer> {
  const socket = new PassThrough();
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const sender = new Sender(socket);
  return new Promise((resolve, reject) => {
    sender.send(text, { binary: false, fin: true, mask: false, compress: false }, (error?: Error | null) => {
      if (error) reject(error);
      else setImmediate(() => resolve(Buffer.concat(chunks)));
    });
  });
}

for (const [what, text] of [
  ['empty', ''],
  ['125 bytes: the longest with a 7-bit length', 'a'.repeat(125)],
  ['126 bytes: the shortest with a 16-bit length', 'a'.repeat(126)],
  ['65,535 bytes: the longest with a 16-bit length', 'a'.repeat(65_535)],
  ['65,536 bytes: the shortest with a 64-bit length', 'a'.repeat(65_536)],
  ['200,000 bytes', 'b'.repeat(200_000)],
  ['multibyte text, measured in UTF-8 bytes (124 characters, 248 bytes)', 'ü'.repeat(124)],
  ['a message frame with emoji', '{"type":"message","message":{"body":"Bremsen 🏍️ quietschen"}}'],
] as const) {
  test(`frameBytes writes what ws writes: ${what}`, async () => {
    assert.deepEqual(frameBytes({ frame: text }), await framedByWs(text));
  });
}

test('frameBytes encodes one event once, and the next event anew', () => {
  const first = { frame: '{"type":"typing"}' };
  const second = { frame: '{"type":"typing"}' };
  const bytes = frameBytes(first);
  assert.equal(frameBytes(first), bytes);
  assert.notEqual(frameBytes(second), bytes);
  assert.deepEqual(frameBytes(second), bytes);
});
