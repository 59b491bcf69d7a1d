// The marketplace's outgoing e-mail, as a file: one JSON line per e-mail, appended when it is
// "sent". No mail leaves this example; in your backend this is your mail provider's API (or a
// table a mailer drains), called with the same fields.
import { appendFileSync } from 'node:fs';

export interface Mail {
  to: string[];
  subject: string;
  text: string;
  /** The service request it is about. */
  request_id: string;
}

export class Outbox {
  constructor(readonly file: string) {}

  send(mail: Mail): void {
    appendFileSync(this.file, `${JSON.stringify(mail)}\n`);
  }
}
