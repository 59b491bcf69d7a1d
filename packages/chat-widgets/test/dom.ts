import type { MotoreachChat } from '../src/chat/chat.js';
import { waitFor } from './helpers.js';

export const $ = (el: Element, selector: string) => el.shadowRoot!.querySelector<HTMLElement>(selector);
export const $$ = (el: Element, selector: string) => [...el.shadowRoot!.querySelectorAll<HTMLElement>(selector)];
export const bubbles = (el: Element, who: 'own' | 'other') => $$(el, `.msg.${who} .bubble`).map((b) => b.textContent!.trim());
export const connected = (el: MotoreachChat) => waitFor(() => el.connectionStatus === 'open' && !$(el, '.banner'), 'chat connected');

export async function typeAndSubmit(el: MotoreachChat, text: string) {
  const area = $(el, 'textarea') as HTMLTextAreaElement;
  area.value = text;
  area.dispatchEvent(new Event('input'));
  await el.updateComplete;
  ($(el, '.send') as HTMLButtonElement).click();
}
