import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { admin, api, eventually, owner, startTestServer, TestSocket, token, unique } from './helpers/harness.js';
import { pendingEvents } from './helpers/webhook-outbox.js';
import { WebhookReceiver, WEBHOOK_SECRET } from './helpers/webhook-receiver.js';

const service = () => token({ sub: 'host-backend', role: 'service' });
const UNREAD_AFTER_MS = 800;

describe('room.unread_reminder', () => {
  const { receiver, server } = WebhookReceiver.suite({}, { webhookTuning: { unreadAfterMs: UNREAD_AFTER_MS, reminderScanMs: 50, pollMs: 20 } });

  async function hostRoom() {
    const id = unique('sr');
    const user = unique('u');
    const workshop = unique('w');
    assert.equal((await api(server.url, 'PUT', `/api/service-requests/${id}/`, service(), { user_id: user, workshop_id: workshop, title: 'Brakes' })).status, 201);
    return { id, user, workshop, ana: owner(user, 'Ana'), bo: admin(unique('a'), workshop, 'Bo') };
  }
  const post = (id: string, auth: string, body: string) => api(server.url, 'POST', `/api/service-requests/${id}/messages/`, auth, { body });
  const reminders = (id: string) => receiver.acceptedFor(id).filter((e) => e.type === 'room.unread_reminder');

  test('fires once per unread episode for a side that does not read, never for one that reads in time, and again after a read and new unread', async () => {
    const a = await hostRoom();
    const bell = TestSocket.notifications(server, a.ana);
    await bell.ready();
    assert.equal((await post(a.id, a.ana, 'Is it ready?')).status, 201);
    // The workshop reads at once, within UNREAD_AFTER, and answers: its episode ends, the owner's begins.
    assert.equal((await api(server.url, 'POST', `/api/service-requests/${a.id}/messages/read/`, a.bo, { last_read_seq: null })).status, 200);
    const answer = (await post(a.id, a.bo, 'Tomorrow')).body.message;

    await receiver.until(() => reminders(a.id).length === 1, "the owner's reminder");
    assert.deepEqual(reminders(a.id)[0]!.data, {
      room: {
        id: a.id,
        user_id: a.user,
        workshop_id: a.workshop,
        title: 'Brakes',
        created_at: reminders(a.id)[0]!.data.room.created_at,
        status: 'open',
        user_name: null,
        workshop_name: null,
        last_seq: 2,
        read_cursors: { user: 0, workshop: 1 },
      },
      side: 'user',
      notify: { user_id: a.user },
      unread: 1,
      oldest_unread: answer,
      unread_since: answer.created_at,
      connected: true,
    });
    await bell.close();

    // Still unread, more unread: the episode was reminded already.
    assert.equal((await post(a.id, a.bo, 'Still there?')).status, 201);
    // A room whose owner's episode begins after that message: once its reminder is out and nothing
    // waits, any second reminder of the first room would have been recorded and delivered too.
    const b = await hostRoom();
    await post(b.id, b.bo, 'Hello');
    await receiver.until(() => reminders(b.id).length === 1, "the second room's reminder");
    assert.equal(reminders(b.id)[0]!.data.connected, false);
    await eventually(async () => (await pendingEvents(server.dataDir)) === 0, 'nothing waiting');
    assert.deepEqual(
      reminders(a.id).map((e) => [e.data.side, e.data.unread]),
      [['user', 1]],
    );

    // The owner reads; new unread is a new episode.
    await api(server.url, 'POST', `/api/service-requests/${a.id}/messages/read/`, a.ana, { last_read_seq: null });
    const ready = (await post(a.id, a.bo, 'Ready now')).body.message;
    await receiver.until(() => reminders(a.id).length === 2, "the owner's second reminder");
    const second = reminders(a.id)[1]!.data;
    assert.deepEqual([second.side, second.unread, second.oldest_unread, second.unread_since, second.connected], ['user', 1, ready, ready.created_at, false]);
    assert.ok(reminders(a.id).every((e) => e.data.side === 'user'), 'the workshop, which read in time, got none');
  });

  test('a system message starts an episode for both sides', async () => {
    const c = await hostRoom();
    const note = (await api(server.url, 'POST', `/api/service-requests/${c.id}/messages/`, service(), { body: 'Quote ready' })).body.message;
    await receiver.until(() => reminders(c.id).length === 2, 'both sides reminded');
    assert.deepEqual(
      reminders(c.id)
        .map((e) => [e.data.side, e.data.notify, e.data.unread, e.data.oldest_unread.id])
        .sort(),
      [
        ['user', { user_id: c.user }, 1, note.id],
        ['workshop', { workshop_id: c.workshop }, 1, note.id],
      ],
    );
  });
});

describe('room.unread_reminder across a restart', () => {
  test('an episode begun before a restart is reminded once after it, and a read then new unread begins another', async () => {
    const receiver = await WebhookReceiver.start();
    const settings = { webhookUrl: receiver.url, webhookSecret: WEBHOOK_SECRET, webhookAllowPrivate: true };
    // The first server never looks for due reminders: the episodes it begins are reminded by the second.
    const first = await startTestServer(settings, { webhookTuning: { unreadAfterMs: UNREAD_AFTER_MS, reminderScanMs: 3_600_000, pollMs: 20 } });
    let second: Awaited<ReturnType<typeof startTestServer>> | undefined;
    try {
      const id = unique('sr');
      const user = unique('u');
      const workshop = unique('w');
      assert.equal((await api(first.url, 'PUT', `/api/service-requests/${id}/`, service(), { user_id: user, workshop_id: workshop, title: 'Brakes' })).status, 201);
      const ana = owner(user, 'Ana');
      const bo = admin(unique('a'), workshop, 'Bo');
      const hello = (await api(first.url, 'POST', `/api/service-requests/${id}/messages/`, bo, { body: 'Hello' })).body.message;
      await first.close();

      second = await startTestServer(
        { ...settings, dataDir: first.dataDir },
        { webhookTuning: { unreadAfterMs: UNREAD_AFTER_MS, reminderScanMs: 50, pollMs: 20 } },
      );
      const url = second.url;
      const post = (auth: string, body: string) => api(url, 'POST', `/api/service-requests/${id}/messages/`, auth, { body });
      const reminders = () => receiver.acceptedFor(id).filter((e) => e.type === 'room.unread_reminder');
      await receiver.until(() => reminders().length === 1, 'the reminder of the episode begun before the restart');
      assert.deepEqual([reminders()[0]!.data.side, reminders()[0]!.data.unread, reminders()[0]!.data.unread_since], ['user', 1, hello.created_at]);

      // More unread in the reminded episode: no second reminder, even though this server never saw the episode begin.
      assert.equal((await post(bo, 'Still there?')).status, 201);
      // Then the workshop's own episode begins and is reminded: had the owner's been begun again, its
      // reminder would have come due first.
      assert.equal((await post(ana, 'Yes')).status, 201);
      await receiver.until(() => reminders().length === 2, "the workshop's reminder");
      assert.deepEqual(reminders().map((e) => [e.data.side, e.data.unread]), [['user', 1], ['workshop', 1]]);

      // The owner reads: the next unread is a new episode, reminded again.
      assert.equal((await api(url, 'POST', `/api/service-requests/${id}/messages/read/`, ana, { last_read_seq: null })).status, 200);
      const ready = (await post(bo, 'Ready now')).body.message;
      await receiver.until(() => reminders().length === 3, "the owner's second episode");
      assert.deepEqual([reminders()[2]!.data.side, reminders()[2]!.data.unread_since], ['user', ready.created_at]);
    } finally {
      await (second ?? first).stop();
      await receiver.close();
    }
  });
});
