import { expect } from '@open-wc/testing';
import { ChatError } from '@motoreach/chat-client';
import { isFinal, isTransient } from './failure.js';

// What a `motoreach-error`'s `final` says, for each kind of failure the SDK reports.
describe('failure', () => {
  it('the contract’s final codes are final, the host closing the room among them; passing faults and the SDK’s own stop are not', () => {
    const cases: Array<[ChatError, boolean, boolean]> = [
      [new ChatError('closed', 'room closed', { status: 409 }), true, false],
      [new ChatError('conflict', 'conflict', { status: 409 }), true, false],
      [new ChatError('invalid', 'empty'), true, false],
      [new ChatError('forbidden', 'no', { closeCode: 4403 }), true, false],
      [new ChatError('unauthorized', 'refused', { status: 401 }), true, false],
      // A provider that failed is reported as unauthorized without the server having refused anything.
      [new ChatError('unauthorized', 'provider failed'), false, true],
      [new ChatError('rate_limited', 'too many', { closeCode: 4429 }), false, true],
      [new ChatError('unavailable', 'disk full', { status: 503 }), false, true],
      [new ChatError('aborted', 'Room closed'), false, false],
    ];
    expect(cases.map(([e]) => [e.code, isFinal(e), isTransient(e)])).to.deep.equal(cases.map(([e, final, transient]) => [e.code, final, transient]));
  });
});
