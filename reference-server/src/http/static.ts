import { realpathSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import express, { type RequestHandler, Router } from 'express';

/** The file express.static would serve for this path, with every symlink resolved; null if there is none. */
async function resolvedTarget(root: string, urlPath: string): Promise<string | null> {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  try {
    const target = await realpath(join(root, path));
    if (!(await stat(target)).isDirectory()) return target;
    return await realpath(join(target, 'index.html')).catch(() => target);
  } catch {
    return null;
  }
}

/**
 * Serves `dir` like express.static, but never a file that a symlink leads to
 * outside `dir` (a link to /etc, to the data dir): it answers 404 as if the
 * file did not exist. Links inside `dir` work, and so does `dir` itself
 * being a link.
 */
export function staticFiles(dir: string): RequestHandler {
  let root = dir;
  try {
    root = realpathSync(dir);
  } catch {
    // A directory that does not exist (yet) serves nothing, as express.static does.
  }
  const router = Router();
  router.use(async (req, _res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const target = await resolvedTarget(root, req.path);
    if (target !== null && target !== root && !target.startsWith(root + sep)) return next('router');
    next();
  });
  router.use(express.static(root));
  return router;
}
