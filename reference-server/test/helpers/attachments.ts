import { readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import mongoose from 'mongoose';
import { dbNameFor, testMongoUri, testStoreKind } from './test-store.js';

/** An upload's answer: status and parsed body. */
export interface Uploaded {
  status: number;
  body: any;
}

/** `POST .../attachments/` with the raw bytes as the body. */
export async function upload(
  base: string,
  roomId: string,
  auth: string | null,
  bytes: Uint8Array,
  options: { type?: string; name?: string; clientId?: string } = {},
): Promise<Uploaded> {
  const query = new URLSearchParams();
  if (options.name !== undefined) query.set('name', options.name);
  if (options.clientId !== undefined) query.set('client_id', options.clientId);
  const res = await fetch(`${base}/api/service-requests/${encodeURIComponent(roomId)}/attachments/?${query}`, {
    method: 'POST',
    headers: { ...(auth ? { authorization: `Bearer ${auth}` } : {}), 'content-type': options.type ?? 'application/octet-stream' },
    body: bytes,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The bytes and headers behind an attachment URL (a path on the server), fetched as an `<img src>` would: no Authorization. */
export async function download(base: string, url: string): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(new URL(url, base));
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

/**
 * The EXIF segment (APP1 "Exif") of a JPEG, or null when it has none: what a reader of the served
 * photo would find its camera data and location in.
 */
export function exifSegment(jpeg: Buffer): Buffer | null {
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff) {
    const marker = jpeg[at + 1] as number;
    const length = jpeg.readUInt16BE(at + 2);
    if (marker === 0xe1 && jpeg.subarray(at + 4, at + 10).toString('latin1') === 'Exif\0\0') return jpeg.subarray(at + 4, at + 2 + length);
    if (marker === 0xda) break;
    at += 2 + length;
  }
  return null;
}

/** Whether an EXIF segment holds a GPS IFD (tag 0x8825, in either byte order). */
export function hasGps(exif: Buffer | null): boolean {
  return exif !== null && (exif.includes(Buffer.from([0x88, 0x25])) || exif.includes(Buffer.from([0x25, 0x88])));
}

/** How many files the server's attachment storage holds (thumbnails count): on disk, or in GridFS. */
export async function storedFileCount(dataDir: string): Promise<number> {
  // Not the mark of a clean close (disk-store.ts).
  if (testStoreKind === 'sqlite') return readdirSync(join(dataDir, 'attachments')).filter((name) => !name.startsWith('.')).length;
  const conn = await mongoose.createConnection(testMongoUri(), { dbName: dbNameFor(dataDir) }).asPromise();
  try {
    return await (conn.db as mongoose.mongo.Db).collection('attachment_files.files').countDocuments();
  } finally {
    await conn.close();
  }
}

/**
 * An upload over node:http, whose body the test writes itself: `write` sends bytes and resolves once
 * they are handed to the socket; `response` resolves with the answer whenever it comes.
 */
export function rawUpload(base: string, path: string, headers: Record<string, string>) {
  const url = new URL(path, base);
  const req = request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: 'POST', headers });
  let sent = 0;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode as number, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
  // Sent bytes are counted whatever becomes of the request; its error, if any, is the test's to read from `response`.
  response.catch(() => undefined);
  return {
    req,
    response,
    get sent() {
      return sent;
    },
    write(chunk: Buffer): Promise<boolean> {
      return new Promise((resolve) => {
        if (req.destroyed || req.writableEnded) {
          resolve(false);
          return;
        }
        req.write(chunk, (error) => {
          if (!error) sent += chunk.length;
          resolve(!error);
        });
      });
    },
  };
}
