// Checks a package as the registry would get it: `npm pack` (scripts skipped: `npm test` has just
// built), then publint (package.json, exports, files) and Are The Types Wrong (types for every entry
// point under Node's ESM resolution and bundlers). Run from a package directory.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = (name) => join(import.meta.dirname, '..', 'node_modules', '.bin', name);
const out = mkdtempSync(join(tmpdir(), 'motoreach-pack-'));
try {
  const [packed] = JSON.parse(execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', out], { encoding: 'utf8' }));
  const tarball = join(out, packed.filename);
  execFileSync(bin('publint'), ['run', tarball, '--strict'], { stdio: 'inherit' });
  // ESM only, by design: the CommonJS rows of the default profile do not apply.
  execFileSync(bin('attw'), [tarball, '--profile', 'esm-only', '--format', 'ascii'], { stdio: 'inherit' });
} finally {
  rmSync(out, { recursive: true, force: true });
}
