// The shipped custom-elements.json: reachable through `exports`, public members only, and every
// path in it names a file that the package ships.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const manifestPath = require.resolve('@motoreach/chat-widgets/custom-elements.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
const root = dirname(manifestPath);

test('the manifest is exported and lists exactly the three elements with public members only', () => {
  const elements = manifest.modules.flatMap((m) => m.declarations.filter((d) => d.customElement));
  assert.deepEqual(elements.map((e) => e.tagName), ['motoreach-chat', 'motoreach-badge', 'motoreach-inbox']);
  const hidden = elements.flatMap((e) => e.members.filter((m) => (m.privacy ?? 'public') !== 'public' || /^[#_]/.test(m.name)).map((m) => `${e.name}.${m.name}`));
  assert.deepEqual(hidden, []);
  assert.deepEqual(elements[0].events.map((e) => [e.name, e.type.text]), [
    ['motoreach-message-sent', 'CustomEvent<MessageSentDetail>'],
    ['motoreach-message-received', 'CustomEvent<MessageReceivedDetail>'],
    ['motoreach-read', 'CustomEvent<ReadDetail>'],
    ['motoreach-connection-change', 'CustomEvent<ConnectionChangeDetail>'],
    ['motoreach-room-change', 'CustomEvent<RoomChangeDetail>'],
    ['motoreach-error', 'CustomEvent<ErrorDetail>'],
    ['motoreach-token-error', 'CustomEvent<TokenErrorDetail>'],
  ]);
});

test('every path in the manifest is a shipped file under dist/', () => {
  const paths = manifest.modules.flatMap((m) => [m.path, m.typeDefinitionPath, ...(m.exports ?? []).map((e) => e.declaration?.module)]).filter(Boolean);
  const files = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).files;
  for (const path of paths.filter((p) => !p.startsWith('./'))) {
    assert.match(path, /^dist\/.*\.(js|d\.ts)$/, path);
    assert.ok(files.includes(path.split('/')[0]), `${path} is in "files"`);
    assert.ok(existsSync(join(root, path)), `${path} exists`);
  }
});

test("the chat's header, avatars and new theme properties are in the manifest, for the generated framework types", () => {
  const chat = manifest.modules.flatMap((m) => m.declarations).find((d) => d.tagName === 'motoreach-chat');
  assert.deepEqual(chat.slots.map((s) => s.name), ['header', 'empty']);
  const parts = chat.cssParts.map((p) => p.name);
  for (const part of ['header', 'avatar', 'connection', 'meta', 'system', 'data', 'closed', 'skeleton', 'empty', 'failure', 'read-more']) assert.ok(parts.includes(part), part);
  const properties = chat.cssProperties.map((p) => p.name);
  for (const property of ['--motoreach-log-bg', '--motoreach-online', '--motoreach-font-size']) assert.ok(properties.includes(property), property);
  assert.equal(chat.attributes.find((a) => a.name === 'heading')?.fieldName, 'heading');
  assert.equal(chat.members.find((m) => m.name === 'renderData')?.type?.text, 'DataRenderer | null');
});

test("the inbox's event, slot, parts and attributes are in the manifest, for the generated framework types", () => {
  const inbox = manifest.modules.flatMap((m) => m.declarations).find((d) => d.tagName === 'motoreach-inbox');
  assert.deepEqual(inbox.events.map((e) => [e.name, e.type.text]), [
    ['motoreach-select', 'CustomEvent<SelectDetail>'],
    ['motoreach-error', 'CustomEvent<ErrorDetail>'],
    ['motoreach-token-error', 'CustomEvent<TokenErrorDetail>'],
  ]);
  assert.deepEqual(inbox.slots.map((s) => s.name), ['empty']);
  const parts = inbox.cssParts.map((p) => p.name);
  for (const part of ['list', 'row', 'title', 'peer', 'preview', 'time', 'count', 'search', 'filter-button', 'more-button', 'empty']) assert.ok(parts.includes(part), part);
  assert.ok(inbox.cssProperties.some((p) => p.name === '--motoreach-font-size'));
  assert.deepEqual(
    inbox.attributes.map((a) => a.name),
    ['base-url', 'token', 'token-url', 'selected', 'q', 'unread-only', 'page-size', 'theme', 'locale'],
  );
});

test('the standalone file resolves by its export from CommonJS and ESM, to copy it next to a page', () => {
  const file = join(root, 'dist/motoreach-chat.min.js');
  assert.equal(require.resolve('@motoreach/chat-widgets/standalone'), file);
  assert.equal(import.meta.resolve('@motoreach/chat-widgets/standalone'), `file://${file}`);
  assert.equal(existsSync(file), true);
});
