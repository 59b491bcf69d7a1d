import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import terser from '@rollup/plugin-terser';

const sdkSource = fileURLToPath(new URL('../chat-client/src/index.ts', import.meta.url));
const protocolSource = fileURLToPath(new URL('../protocol/src/index.ts', import.meta.url));

// TypeScript → JS with esbuild (declarations come from tsc, see `build:types`). Lit's legacy
// decorators need these two options; esbuild does not read them from a tsconfig it is not given.
const typescript = () => ({
  name: 'esbuild-typescript',
  async transform(code, id) {
    if (!id.endsWith('.ts')) return null;
    const out = await transform(code, {
      loader: 'ts',
      target: 'es2022',
      sourcemap: true,
      sourcefile: id,
      tsconfigRaw: { compilerOptions: { experimentalDecorators: true, useDefineForClassFields: false, verbatimModuleSyntax: true } },
    });
    return { code: out.code, map: out.map };
  },
});

// The SDK (and the protocol's code lists it uses) is bundled from its source, so the standalone file
// does not depend on their build order.
// Relative `.js` imports inside TypeScript sources point at `.ts` files.
const sources = () => ({
  name: 'ts-sources',
  async resolveId(source, importer) {
    if (source === '@motoreach/chat-client') return sdkSource;
    if (source === '@motoreach/protocol') return protocolSource;
    if (importer?.endsWith('.ts') && source.startsWith('.') && source.endsWith('.js')) {
      return fileURLToPath(new URL(source.slice(0, -3) + '.ts', `file://${importer}`));
    }
    return null;
  },
});

const external = (id) => id === 'lit' || id.startsWith('lit/') || id.startsWith('@lit/') || id === '@motoreach/chat-client';

export default [
  // For bundlers: one module per source file, dependencies left as imports.
  {
    input: 'src/index.ts',
    external,
    plugins: [
      {
        name: 'ts-sources-local',
        resolveId: (source, importer) =>
          importer?.endsWith('.ts') && source.startsWith('.') && source.endsWith('.js')
            ? fileURLToPath(new URL(source.slice(0, -3) + '.ts', `file://${importer}`))
            : null,
      },
      typescript(),
    ],
    output: { dir: 'dist', format: 'es', preserveModules: true, preserveModulesRoot: 'src', sourcemap: true },
  },
  // For a page without a build step: Lit, the SDK and both elements in one minified module.
  {
    input: 'src/index.ts',
    plugins: [sources(), nodeResolve({ browser: true, exportConditions: ['browser', 'production'] }), typescript(), terser({ ecma: 2020, module: true, format: { comments: false } })],
    output: [
      { file: 'dist/motoreach-chat.min.js', format: 'es', sourcemap: true },
      // The demo served by `npm start` loads this copy.
      { file: '../../examples/demo/motoreach-chat.min.js', format: 'es', sourcemap: true },
    ],
  },
];
