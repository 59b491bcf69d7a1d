import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { ChatClient } from '@motoreach/chat-client';
import { ServiceRequestChat } from './ServiceRequestChat.tsx';
import { baseUrl, chatToken, serviceRequestId } from './session.ts';

const client = new ChatClient({ baseUrl, token: chatToken });
const root = createRoot(document.getElementById('root')!);

serviceRequestId(client).then(
  (requestId) =>
    root.render(
      <StrictMode>
        <h1>MotoReach chat · React</h1>
        <ServiceRequestChat client={client} requestId={requestId} />
      </StrictMode>,
    ),
  (error: unknown) => root.render(<p role="alert">Could not open the chat: {String(error)}</p>),
);
