import type { ChatClient, Room } from '@motoreach/chat-client';

/** A widget's hold on a room: `release()` once, when the widget stops showing it. */
export interface RoomHandle {
  readonly room: Room;
  release(): void;
}

interface Holders {
  count: number;
  /** Whether the widgets opened the socket (and so close it), or found it already connected by the host. */
  opened: boolean;
}

// `ChatClient.room()` hands out one Room per id, so two widgets (or a widget and the host) on one
// request share a socket: a widget closing it on its way out would cut the others off. The widgets
// count their holds per Room; the last one closes it, and only if the widgets opened it.
// This is the widget layer's stand-in for a retain/release API in the SDK: when the SDK has one,
// `retainRoom` becomes a call to it and this bookkeeping goes.
const holders = new WeakMap<Room, Holders>();

export function retainRoom(client: ChatClient, requestId: string): RoomHandle {
  const room = client.room(requestId);
  const held = holders.get(room) ?? { count: 0, opened: room.status === 'idle' || room.status === 'closed' };
  holders.set(room, held);
  held.count++;
  let released = false;
  return {
    room,
    release() {
      if (released) return;
      released = true;
      if (--held.count > 0) return;
      holders.delete(room);
      if (held.opened) room.close();
    },
  };
}
