import { createApp, h } from 'vue';
import { ChatClient } from '@motoreach/chat-client';
import ServiceRequestChat from './ServiceRequestChat.vue';
import { baseUrl, chatToken, serviceRequestId } from './session.ts';

const client = new ChatClient({ baseUrl, token: chatToken });

serviceRequestId(client).then(
  (requestId) => createApp({ render: () => [h('h1', 'MotoReach chat · Vue'), h(ServiceRequestChat, { client, requestId })] }).mount('#app'),
  (error: unknown) => {
    document.getElementById('app')!.textContent = `Could not open the chat: ${String(error)}`;
  },
);
