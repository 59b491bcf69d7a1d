// The repair marketplace's own records: its users, workshops, service requests and quotes. In a
// real backend these are tables in your database; the chat only ever learns what the backend tells it.

export type User =
  | { id: string; name: string; kind: 'owner' }
  | { id: string; name: string; kind: 'staff'; workshopId: string }
  /** The platform's own operations team: reassigns, closes, exports and erases; no chat participant. */
  | { id: string; name: string; kind: 'ops' };

export interface Workshop {
  id: string;
  name: string;
}

export interface ServiceRequest {
  /** The marketplace's id, used as the chat room's id too: `sr-2026-0042`. */
  id: string;
  ownerId: string;
  workshopId: string;
  title: string;
  status: 'open' | 'closed';
}

export interface Quote {
  id: string;
  requestId: string;
  amountCents: number;
  currency: string;
}

/** Demo data: one vehicle owner, two workshops with one admin each, and an operator. */
const USERS: User[] = [
  { id: '42', name: 'Ana Ruiz', kind: 'owner' },
  { id: 'staff-7', name: 'Bo Berg', kind: 'staff', workshopId: 'w-7' },
  { id: 'staff-9', name: 'Cem Demir', kind: 'staff', workshopId: 'w-9' },
  { id: 'ops-1', name: 'Dana Olsen', kind: 'ops' },
];
const WORKSHOPS: Workshop[] = [
  { id: 'w-7', name: 'Garage Nord' },
  { id: 'w-9', name: 'Garage Sud' },
];
const SERIES = 'sr-2026-';

export class Marketplace {
  readonly #users = new Map(USERS.map((u) => [u.id, u]));
  readonly #workshops = new Map(WORKSHOPS.map((w) => [w.id, w]));
  readonly #requests = new Map<string, ServiceRequest>();
  #nextRequest = 42;
  #nextQuote = 1;

  user(id: string): User | undefined {
    return this.#users.get(id);
  }

  workshop(id: string): Workshop | undefined {
    return this.#workshops.get(id);
  }

  request(id: string): ServiceRequest | undefined {
    return this.#requests.get(id);
  }

  requestsOf(ownerId: string): ServiceRequest[] {
    return [...this.#requests.values()].filter((r) => r.ownerId === ownerId);
  }

  newRequestId(): string {
    return `${SERIES}${String(this.#nextRequest++).padStart(4, '0')}`;
  }

  saveRequest(request: ServiceRequest): void {
    this.#requests.set(request.id, request);
  }

  newQuote(requestId: string, amountCents: number, currency: string): Quote {
    return { id: `q-${this.#nextQuote++}`, requestId, amountCents, currency };
  }

  /** Erasure on the marketplace's side: the person's record goes; their requests keep the opaque id. */
  forgetUser(id: string): void {
    this.#users.delete(id);
  }
}
