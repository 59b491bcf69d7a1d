// #region react
import { useState } from 'react';
import type { ChatClient } from '@motoreach/chat-client';
import { MotoreachChat } from '@motoreach/chat-react';

export function ServiceRequestChat({ client, requestId }: { client: ChatClient; requestId: string }) {
  const [lastReceived, setLastReceived] = useState<string | null>(null);
  return (
    <section>
      <h2>
        Your service request <motoreach-badge client={client} request-id={requestId} />
      </h2>
      <MotoreachChat
        client={client}
        requestId={requestId}
        style={{ height: '32rem' }}
        onMessageReceived={(e) => setLastReceived(e.detail.message.body)}
      />
      {lastReceived && <p role="status">Last received: {lastReceived}</p>}
    </section>
  );
}
// #endregion react
