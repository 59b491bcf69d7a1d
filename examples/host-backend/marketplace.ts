// The repair marketplace's own records: its users, workshops, service requests and quotes. In a
// real backend these are tables in your database; the chat only ever learns what the backend tells it.

export type User =
  | { id: string; name: string; email: string; kind: 'owner' }
  | { id: string; name: string; email: string; kind: 'staff'; workshopId: string }
  /** The platform's own operations team: reassigns, closes, exports and erases; no chat participant. */
  | { id: string; name: string; email: string; kind: 'ops' };

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

/** Who the request waits on, from the chat's last message by a side (its webhooks). */
export type Progress = 'awaiting_workshop' | 'awaiting_customer';

/** A change of the request's room, as the chat reported it: kept for disputes. */
export interface RoomChange {
  /** When the chat made the change (the event's timestamp). */
  at: string;
  /** The room's fields that changed, and what they were before. */
  changed: string[];
  previous: Record<string, string | null>;
  status: 'open' | 'closed';
  workshopId: string;
  title: string;
}

export interface Quote {
  id: string;
  requestId: string;
  amountCents: number;
  currency: string;
}

/** Demo data: one vehicle owner, two workshops with one admin each, and an operator. */
const USERS: User[] = [
  { id: '42', name: 'Ana Ruiz', email: 'ana.ruiz@example.com', kind: 'owner' },
  { id: 'staff-7', name: 'Bo Berg', email: 'bo@garage-nord.example', kind: 'staff', workshopId: 'w-7' },
  { id: 'staff-9', name: 'Cem Demir', email: 'cem@garage-sud.example', kind: 'staff', workshopId: 'w-9' },
  { id: 'ops-1', name: 'Dana Olsen', email: 'dana.olsen@example.com', kind: 'ops' },
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
  readonly #progress = new Map<string, { progress: Progress; seq: number }>();
  readonly #roomChanges = new Map<string, RoomChange[]>();
  #nextRequest = 42;
  #nextQuote = 1;

  user(id: string): User | undefined {
    return this.#users.get(id);
  }

  workshop(id: string): Workshop | undefined {
    return this.#workshops.get(id);
  }

  /** A workshop's staff: the people an unread reminder for the workshop's side goes to. */
  staffOf(workshopId: string): Extract<User, { kind: 'staff' }>[] {
    return [...this.#users.values()].filter((u): u is Extract<User, { kind: 'staff' }> => u.kind === 'staff' && u.workshopId === workshopId);
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

  progress(requestId: string): Progress | null {
    return this.#progress.get(requestId)?.progress ?? null;
  }

  /** Kept from the latest message only: an older one arriving late (a retried delivery) changes nothing. */
  setProgress(requestId: string, progress: Progress, seq: number): void {
    if ((this.#progress.get(requestId)?.seq ?? 0) < seq) this.#progress.set(requestId, { progress, seq });
  }

  roomChanges(requestId: string): RoomChange[] {
    return this.#roomChanges.get(requestId) ?? [];
  }

  recordRoomChange(requestId: string, change: RoomChange): void {
    this.#roomChanges.set(requestId, [...this.roomChanges(requestId), change]);
  }

  newQuote(requestId: string, amountCents: number, currency: string): Quote {
    return { id: `q-${this.#nextQuote++}`, requestId, amountCents, currency };
  }

  /** Erasure on the marketplace's side: the person's record goes; their requests keep the opaque id. */
  forgetUser(id: string): void {
    this.#users.delete(id);
  }
}
