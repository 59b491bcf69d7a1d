import type { ErasureResult, InboxPage, MessagesPage, SentMessage, UserExport, WsTicket } from '@motoreach/protocol';
import { Router, type Request } from 'express';
import { ChatError } from '../chat/errors.js';
import { decodeInboxCursor, encodeInboxCursor } from '../chat/inbox-cursor.js';
import { hostRoomId, inboxQuery, messageInput, pageQuery, parse, readInput, roomInput, roomPutInput, userIdParam } from '../chat/schemas.js';
import type { ChatService } from '../chat/service.js';
import { callerKey, type Identity } from '../chat/types.js';
import type { KeyedRateLimiter } from '../rate-limit.js';
import type { Tickets } from '../tickets/tickets.js';
import { streamJson } from './json-stream.js';

function identityOf(req: Request): Identity {
  if (!req.identity) throw new ChatError('unauthorized', 'a valid bearer token is required');
  return req.identity;
}

function roomId(req: Request): string {
  return req.params.id as string;
}

/** What opening rooms may cost a user: `roomsPerHour`, refilled one at a time. */
export interface RoomBudget {
  limiter: KeyedRateLimiter;
  roomsPerHour: number;
}

/** The contract's REST routes; each parses, calls the service, answers. */
export function apiRoutes(service: ChatService, tickets: Tickets, roomBudget: RoomBudget): Router {
  const router = Router();

  router.post('/ws-tickets/', (req, res) => {
    // A ticket is a credential for its few seconds: no cache may keep it.
    res.setHeader('Cache-Control', 'no-store');
    res.json(tickets.issue(identityOf(req)) satisfies WsTicket);
  });

  router.post('/service-requests/', async (req, res) => {
    const input = parse(roomInput, req.body ?? {});
    const identity = identityOf(req);
    // Each room names any workshop and lands in its inbox: without a budget, one owner floods every workshop's inbox.
    if (!roomBudget.limiter.take(callerKey(identity))) {
      throw new ChatError('rate_limited', 'too many new service requests; try again later', Math.ceil(3600 / roomBudget.roomsPerHour));
    }
    res.status(201).json(await service.createRoom(identity, input));
  });

  router.get('/service-requests/', async (req, res) => {
    const query = parse(inboxQuery, req.query);
    // An empty cursor is no cursor: the first page.
    const after = query.cursor ? decodeInboxCursor(query.cursor) : null;
    const page = await service.listRooms(identityOf(req), {
      ...(query.limit !== undefined && { limit: query.limit }),
      after,
      ...(query.q !== undefined && { q: query.q }),
      unread: query.unread === '1',
    });
    res.json({ service_requests: page.rooms, next_cursor: page.next && encodeInboxCursor(page.next) } satisfies InboxPage);
  });

  router.put('/service-requests/:id/', async (req, res) => {
    const identity = identityOf(req);
    const id = parse(hostRoomId, roomId(req));
    const input = parse(roomPutInput, req.body ?? {});
    const { room, created } = await service.putRoom(identity, { ...input, id });
    res.status(created ? 201 : 200).json(room);
  });

  router.get('/service-requests/:id/', async (req, res) => {
    res.json(await service.authorize(identityOf(req), roomId(req)));
  });

  router.get('/service-requests/:id/messages/', async (req, res) => {
    const query = parse(pageQuery, req.query);
    const room = await service.authorize(identityOf(req), roomId(req));
    const page = await service.listMessages(room, query);
    res.json({ ...page, read_cursors: room.read_cursors } satisfies MessagesPage);
  });

  router.post('/service-requests/:id/messages/', async (req, res) => {
    const input = parse(messageInput, req.body ?? {});
    const identity = identityOf(req);
    const room = await service.authorize(identity, roomId(req));
    const { message, created } = await service.sendMessage(identity, room, input.body, input.client_id ?? null, input.data, input.attachments);
    res.status(created ? 201 : 200).json({ message } satisfies SentMessage);
  });

  router.post('/service-requests/:id/messages/read/', async (req, res) => {
    const input = parse(readInput, req.body ?? {});
    const identity = identityOf(req);
    const room = await service.authorize(identity, roomId(req));
    res.json(await service.markRead(identity, room, input.last_read_seq ?? null));
  });

  router.get('/users/:id/export/', async (req, res) => {
    const identity = identityOf(req);
    const userId = parse(userIdParam, req.params.id);
    const { rooms, messages, attachments } = service.exportUser(identity, userId);
    // A person's data: no cache on the way may keep a copy.
    res.setHeader('Cache-Control', 'no-store');
    // The UserExport shape, written as the store reads it (json-stream.ts).
    const head: Pick<UserExport, 'user_id'> = { user_id: userId };
    await streamJson(res, head, { rooms, messages, attachments } satisfies Record<Exclude<keyof UserExport, 'user_id'>, AsyncIterable<unknown[]>>);
  });

  router.delete('/users/:id/messages/', async (req, res) => {
    const identity = identityOf(req);
    const userId = parse(userIdParam, req.params.id);
    res.json({ redacted: await service.eraseMessages(identity, userId) } satisfies ErasureResult);
  });

  router.get('/notifications/unread/', async (req, res) => {
    res.json(await service.unread(identityOf(req)));
  });

  return router;
}
