import type { TemplateResult } from 'lit';
import type { ChatMessage } from '@motoreach/chat-client';

/**
 * The host's own view of a message's `data` (structured content its backend attached, such as a
 * quote): called once per message that carries `data`, and again only when the message changes
 * (a pending one stored, say). A DOM node (your own element, say) is shown as it is, a string as
 * text; null or undefined shows nothing. With the package build (Lit as a shared dependency), a
 * Lit template works too.
 */
export type DataRenderer = (message: ChatMessage) => Node | TemplateResult | string | null | undefined;
