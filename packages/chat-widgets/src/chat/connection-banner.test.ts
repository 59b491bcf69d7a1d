import { expect } from '@open-wc/testing';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { ChatError } from '@motoreach/chat-client';
import { ConnectionBanner } from './connection-banner.js';

// The SDK's `reason` on status events decides at once what the banner says, without its grace timer.
// The host is a stand-in: what is under test is the banner's reading of statuses and reasons.
function banner() {
  const host: ReactiveControllerHost = {
    addController: (_c: ReactiveController) => {},
    removeController: () => {},
    requestUpdate: () => {},
    updateComplete: Promise.resolve(true),
  };
  return { b: new ConnectionBanner(host) };
}

const network = new ChatError('network', 'socket closed (1006)', { closeCode: 1006 });

describe('ConnectionBanner', () => {
  it('says reconnecting when an open socket is lost, and can\'t reach when the next attempt fails too', () => {
    const { b } = banner();
    b.reset('open');
    expect(b.state).to.equal('hidden');
    b.update('reconnecting', network);
    expect(b.state).to.equal('reconnecting');
    b.update('reconnecting', new ChatError('unavailable', 'HTTP 503', { status: 503 }));
    expect(b.state).to.equal('unreachable');
    b.update('open');
    expect(b.state).to.equal('hidden');
  });

  it("says can't reach at once when a first connection fails on a transient reason", () => {
    for (const reason of [network, new ChatError('timeout', 't'), new ChatError('rate_limited', 'r', { status: 429 }), new ChatError('network', 'too many sockets', { closeCode: 4429 })]) {
      const { b } = banner();
      b.reset('idle');
      b.update('connecting');
      expect(b.state).to.equal('connecting');
      b.update('connecting', reason);
      expect(b.state, reason.message).to.equal('unreachable');
    }
  });

  it('does not take a refused token being renewed for a network fault', () => {
    const { b } = banner();
    b.reset('open');
    b.update('reconnecting', new ChatError('unauthorized', 'token refused', { closeCode: 4401 }));
    b.update('reconnecting', new ChatError('unauthorized', 'token refused', { closeCode: 4401 }));
    expect(b.state).to.equal('reconnecting');
  });

  it('prefers offline while the browser says so, and stays hidden after a clean close', () => {
    const { b } = banner();
    b.reset('open');
    b.update('offline', network);
    expect(b.state).to.equal('offline');
    b.update('closed');
    expect(b.state).to.equal('hidden');
    b.stopped();
    expect(b.state).to.equal('unreachable');
  });
});
