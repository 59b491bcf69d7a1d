import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import { type Clock, KeyedRateLimiter } from '../rate-limit.js';
import { prepareDataDir } from '../store/data-dir.js';
import { Attachments } from './attachments.js';
import type { AttachmentStore } from './store.js';
import { AttachmentUrls, urlKey } from './urls.js';

/** How often uploads no message named are looked for (they go a day after they were made). */
const SWEEP_EVERY_MS = 3600 * 1000;

export interface OpenedAttachments {
  attachments: Attachments;
  close(): Promise<void>;
}

/** GridFS when MONGODB_URI is set, else files in DATA_DIR; unnamed uploads swept now and hourly. */
export async function openAttachments(config: Config, logger: Logger, clock: Clock): Promise<OpenedAttachments> {
  let store: AttachmentStore;
  if (config.mongodbUri) {
    const { GridFsAttachmentStore } = await import('./gridfs-store.js');
    store = await GridFsAttachmentStore.connect(config.mongodbUri);
  } else {
    const { DiskAttachmentStore } = await import('./disk-store.js');
    prepareDataDir(config.dataDir);
    store = await DiskAttachmentStore.open(config.dataDir);
  }
  const { limits } = config;
  const limiter =
    limits.attachmentUploadsPerHour > 0
      ? new KeyedRateLimiter(limits.attachmentUploadsPerHour / 3600, limits.attachmentUploadsPerHour, clock)
      : null;
  const attachments = new Attachments(store, new AttachmentUrls(urlKey(config.clusterSecret), limits.attachmentUrlTtlS), limits, limiter);
  let sweeping: Promise<void> = Promise.resolve();
  const sweep = () => {
    sweeping = attachments.sweep().then(
      (removed) => {
        if (removed > 0) logger.info({ removed }, 'attachments: removed uploads no message named within a day');
      },
      (err: unknown) => logger.warn({ err }, 'attachments: the sweep of unnamed uploads failed; next hour again'),
    );
  };
  sweep();
  const timer = setInterval(sweep, SWEEP_EVERY_MS);
  timer.unref();
  return {
    attachments,
    async close() {
      clearInterval(timer);
      limiter?.close();
      await sweeping;
      await store.close();
    },
  };
}
