// The demo: each side signs in with a development token, shares one ChatClient between its badge,
// its inbox and its chat, and chats with the request picked in the inbox. `?side=owner` or
// `?side=workshop` shows one side only (one browser window per person); `?theme=dark|light` forces
// a theme on the page and the widgets.
import { ChatClient } from './motoreach-chat.min.js';

const WORKSHOP = 'w-1';
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
  constructor(section, client) {
    this.section = section;
    this.client = client;
    this.inbox = section.querySelector('motoreach-inbox');
    this.chat = section.querySelector('motoreach-chat');
    this.pick = section.querySelector('.pick');
    // One client for all three: one notifications socket; the chat reading a request clears its count in the inbox.
    for (const el of [this.inbox, this.chat, section.querySelector('motoreach-badge.total')]) {
      el.client = client;
      if (theme && el.localName !== 'motoreach-badge') el.theme = theme;
    }
    this.inbox.addEventListener('motoreach-select', (e) => this.select(e.detail.requestId));
    section.querySelector('.new-request')?.addEventListener('submit', (e) => this.create(e));
  }

  select(requestId) {
    this.inbox.selected = requestId;
    this.pick.hidden = true;
    this.chat.requestId = requestId;
    this.chat.hidden = false;
  }

  // The owner lands in their latest request.
  async openLatest() {
    const [latest] = (await this.client.rooms({ limit: 1 })).service_requests;
    if (latest && !this.inbox.selected) this.select(latest.id);
  }

  async create(e) {
    e.preventDefault();
    const form = e.target;
    const input = form.elements.namedItem('title');
    const room = await this.client.createRoom({ workshop_id: WORKSHOP, title: input.value.trim() });
    input.value = '';
    // One's own new request reaches no notifications socket of one's own: the inbox reads it.
    void this.inbox.refresh();
    this.select(room.id);
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
  const side = new Side(section, new ChatClient({ baseUrl: location.origin, token }));
  // The workshop picks from its inbox.
  if (name === 'owner') await side.openLatest();
}

if (only) document.body.classList.add('single');
await Promise.all([start('owner'), start('workshop')]);
