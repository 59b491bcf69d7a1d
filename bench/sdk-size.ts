// Bundle size of @motoreach/chat-client next to other realtime client libraries, measured the same
// way for each: esbuild --bundle --minify --format=esm (dependencies included), then gzip -9.
//   node --import tsx bench/sdk-size.ts            print the table
//   node --import tsx bench/sdk-size.ts --check    also fail when the SDK is over its budget
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const BUDGET = 8192;
const pkgDir = fileURLToPath(new URL('../packages/chat-client/', import.meta.url));

const SDK = '@motoreach/chat-client';
// The SDK from its source entry; the others through their package entry, as an app would import them.
const targets = [SDK, 'socket.io-client', 'phoenix', 'centrifuge'];

async function measure(name: string): Promise<{ min: number; gz: number }> {
  const out = await build({
    ...(name === SDK
      ? { entryPoints: [`${pkgDir}src/index.ts`] }
      : { stdin: { contents: `export * from '${name}';`, resolveDir: pkgDir } }),
    bundle: true,
    minify: true,
    format: 'esm',
    write: false,
    logLevel: 'error',
  });
  const code = out.outputFiles[0]!.contents;
  return { min: code.length, gz: gzipSync(code, { level: 9 }).length };
}

const version = (name: string): string =>
  (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version;

const rows: string[] = ['| library | version | minified (bytes) | min + gzip -9 (bytes) |', '| --- | --- | ---: | ---: |'];
let own = 0;
for (const name of targets) {
  const { min, gz } = await measure(name);
  if (name === SDK) own = gz;
  rows.push(`| ${name} | ${version(name)} | ${min} | ${gz} |`);
}
console.log(rows.join('\n'));

if (process.argv.includes('--check')) {
  if (own > BUDGET) {
    console.error(`\n${SDK} is ${own} bytes min+gz, over the ${BUDGET} byte budget`);
    process.exit(1);
  }
  console.log(`\n${SDK}: ${own} of ${BUDGET} bytes min+gz`);
}
