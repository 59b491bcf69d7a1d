// The demo: each side signs in with a development token, shares one ChatClient between its badges
// and its chat, lists its service requests, and chats. `?side=owner` or `?side=workshop` shows one
// side only (one browser window per person); `?theme=dark|light` forces a theme on the page and the widgets.
import { ChatClient } from './motoreach-chat.min.js';

const WORKSHOP = 'w-1';
const PAGE = 20;
const PEOPLE = {
  owner: { sub: 'u-ana', role: 'user', name: 'Ana' },
  workshop: { sub: 'a-bruno', role: 'workshop_admin', workshop_id: WORKSHOP, name: 'Bruno' },
};

const params = new URLSearchParams(location.search);
const only = params.get('side');
const theme = params.get('theme');
if (theme === 'dark' || theme === 'light') document.documentElement.dataset.theme = theme;

async function devToken(identity) {
  const res = await fetch('/api/dev/token', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(identity),
  });
  if (!res.ok) throw new Error(`POST /api/dev/token answered ${res.status}: is the server running with --dev?`);
  return (await res.json()).token;
}

class Side {
  constructor(section, client, { autoSelect, peerName }) {
    this.section = section;
    this.peerName = peerName;
    this.autoSelect = autoSelect;
    this.client = client;
    this.selected = null;
    this.list = section.querySelector('.rooms');
    this.chat = section.querySelector('motoreach-chat');
    this.pick = section.querySelector('.pick');
    this.known = new Set();
    this.rooms = [];
    this.next = null;
    this.chat.client = client;
    if (theme) this.chat.theme = theme;
    section.querySelector('motoreach-badge.total').client = client;
    // A request the list does not know yet: a new one, or one that arrived while the socket was down.
    const notifications = client.notifications();
    notifications.on('notification', (n) => {
      if (!this.known.has(n.request_id)) this.refresh();
    });
    notifications.on('unread', ({ rooms }) => {
      if (Object.keys(rooms).some((id) => !this.known.has(id))) this.refresh();
    });
    this.more = section.querySelector('.more');
    this.more.addEventListener('click', () => this.load(this.next));
    section.querySelector('.refresh')?.addEventListener('click', () => this.refresh());
    section.querySelector('.new-request')?.addEventListener('submit', (e) => this.create(e));
  }

  // The inbox comes a page at a time, most recent activity first (a room with news moves to the top,
  // so a refresh of the first page shows it); "Older requests" appends the next page.
  refresh() {
    return this.load(null);
  }

  async load(cursor) {
    const page = await this.client.rooms({ limit: PAGE, cursor });
    const rooms = cursor ? [...this.rooms, ...page.service_requests] : page.service_requests;
    this.rooms = rooms;
    this.next = page.next_cursor;
    this.more.hidden = !this.next;
    this.known = new Set(rooms.map((r) => r.id));
    this.section.querySelector('.empty').hidden = rooms.length > 0;
    // Built with DOM calls and textContent: titles are user input and never become HTML.
    this.list.replaceChildren(
      ...rooms.map((room) => {
        const li = document.createElement('li');
        const button = document.createElement('button');
        button.type = 'button';
        button.dataset.id = room.id;
        if (room.id === this.selected) button.setAttribute('aria-current', 'true');
        const title = document.createElement('span');
        title.className = 'title';
        title.textContent = room.title;
        const label = document.createElement('span');
        label.append(title);
        // The other side, when the host's backend named it (contract v1.2: user_name, workshop_name).
        const peer = this.peerName(room);
        if (peer) {
          const name = document.createElement('span');
          name.className = 'peer';
          name.textContent = peer;
          label.append(name);
        }
        const badge = document.createElement('motoreach-badge');
        badge.client = this.client;
        badge.requestId = room.id;
        button.append(label, badge);
        button.addEventListener('click', () => this.select(room));
        li.append(button);
        return li;
      }),
    );
    if (this.autoSelect && !this.selected && rooms[0]) this.select(rooms[0]);
  }

  select(room) {
    this.selected = room.id;
    this.pick.hidden = true;
    this.chat.requestId = room.id;
    this.chat.hidden = false;
    for (const b of this.list.querySelectorAll('button')) {
      if (b.dataset.id === room.id) b.setAttribute('aria-current', 'true');
      else b.removeAttribute('aria-current');
    }
  }

  async create(e) {
    e.preventDefault();
    const form = e.target;
    const input = form.elements.namedItem('title');
    const room = await this.client.createRoom({ workshop_id: WORKSHOP, title: input.value.trim() });
    input.value = '';
    this.selected = null;
    await this.refresh();
    this.select(room);
    this.chat.focus();
  }
}

async function start(name) {
  const section = document.querySelector(`.side[data-side="${name}"]`);
  if (only && only !== name) {
    section.remove();
    return;
  }
  const token = await devToken(PEOPLE[name]);
  // The owner lands in their latest request; the workshop picks from its list (and its badges).
  const side = new Side(section, new ChatClient({ baseUrl: location.origin, token }), {
    autoSelect: name === 'owner',
    peerName: (room) => (name === 'owner' ? room.workshop_name : room.user_name),
  });
  await side.refresh();
}

if (only) document.body.classList.add('single');
await Promise.all([start('owner'), start('workshop')]);
