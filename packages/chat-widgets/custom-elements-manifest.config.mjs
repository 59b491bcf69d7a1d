// The manifest describes the public API of what the package ships: both elements from their
// modules in dist/, no private or protected members. The framework type declarations in
// dist/types/ are generated from it by the wc-toolkit / break-stuff plugins, so they follow the
// elements' attributes, properties and events without a hand-written copy.
import { readFileSync, writeFileSync } from 'node:fs';
import { jsxTypesPlugin } from '@wc-toolkit/jsx-types';
import { modulePathResolverPlugin } from '@wc-toolkit/module-path-resolver';
import { customElementVuejsPlugin } from 'custom-element-vuejs-integration';
import { customElementSveltePlugin } from 'custom-element-svelte-integration';

const isPublic = (member) => (member.privacy ?? 'public') === 'public' && !member.name.startsWith('#') && !member.name.startsWith('_');

const shipped = (path, ext) => path.replace(/^src\//, 'dist/').replace(/\.ts$/, ext);

// Drops what a consumer cannot reach: private and protected members, and a module's declarations
// that it does not export (module-level helpers). Modules without an element (the entry point) get
// their shipped path here; the resolver below handles the element modules.
function publicOnly() {
  return {
    name: 'motoreach-public-only',
    packageLinkPhase({ customElementsManifest }) {
      for (const mod of customElementsManifest.modules) {
        const exported = new Set((mod.exports ?? []).map((e) => e.declaration?.name));
        mod.declarations = (mod.declarations ?? []).filter((d) => exported.has(d.name));
        for (const declaration of mod.declarations) {
          if (declaration.members) declaration.members = declaration.members.filter(isPublic);
        }
        if (mod.path.startsWith('src/')) mod.path = shipped(mod.path, '.js');
        for (const entry of mod.exports ?? []) {
          if (entry.declaration?.module?.startsWith('src/')) entry.declaration.module = shipped(entry.declaration.module, '.js');
        }
      }
    },
  };
}

// vue-tsc 3 looks up a listener `@motoreach-read` as the prop `onMotoreachRead`; the Vue generator
// names it `"onmotoreach-read"`, which leaves the handler's event untyped (TS7006 under strict).
function camelizeVueListeners(file) {
  const text = readFileSync(file, 'utf8').replace(/"on(motoreach-[a-z-]+)"\?:/g, (_, event) =>
    `on${event.replace(/(^|-)([a-z])/g, (_, __, c) => c.toUpperCase())}?:`,
  );
  writeFileSync(file, text);
}

// With `globalTypePath`, the Vue and Svelte generators import a detail type once per element that
// fires it: `ErrorDetail` twice is a duplicate identifier for a consumer without skipLibCheck.
function dedupeImports(file) {
  const text = readFileSync(file, 'utf8').replace(/import type \{([^}]*)\} from "\.\.\/index\.js"/, (_, names) => {
    const unique = [...new Set(names.split(',').map((n) => n.trim()).filter(Boolean))];
    return `import type { ${unique.join(', ')} } from "../index.js"`;
  });
  writeFileSync(file, text);
}

// The manifest types an event as the event (`CustomEvent<MessageSentDetail>`, which the JSX
// generator reads); the Vue and Svelte generators expect the detail type and wrap it themselves.
function withDetailTypes(plugin, fileName, after = () => {}) {
  return {
    ...plugin,
    packageLinkPhase(context) {
      const events = context.customElementsManifest.modules.flatMap((m) => m.declarations.flatMap((d) => d.events ?? []));
      const eventTypes = events.map((e) => e.type?.text);
      for (const event of events) {
        const detail = /^CustomEvent<(.+)>$/.exec(event.type?.text ?? '');
        if (detail) event.type.text = detail[1];
      }
      plugin.packageLinkPhase(context);
      events.forEach((event, i) => {
        if (event.type) event.type.text = eventTypes[i];
      });
      dedupeImports(`${typesOptions.outdir}/${fileName}`);
      after(`${typesOptions.outdir}/${fileName}`);
    },
  };
}

// Type paths are relative to dist/types/, where the generated declarations go.
const typesOptions = { outdir: 'dist/types', globalTypePath: '../index.js' };

export default {
  // Only the modules a consumer imports: the entry point and the elements.
  globs: ['src/index.ts', 'src/chat/chat.ts', 'src/badge/badge.ts', 'src/inbox/inbox.ts'],
  outdir: '.',
  litelement: true,
  plugins: [
    modulePathResolverPlugin({
      modulePathTemplate: (path) => shipped(path, '.js'),
      typeDefinitionPathTemplate: (path) => shipped(path, '.d.ts'),
    }),
    publicOnly(),
    jsxTypesPlugin({ ...typesOptions, fileName: 'jsx.d.ts' }),
    withDetailTypes(customElementVuejsPlugin({ ...typesOptions, fileName: 'vue.d.ts' }), 'vue.d.ts', camelizeVueListeners),
    withDetailTypes(customElementSveltePlugin({ ...typesOptions, fileName: 'svelte.d.ts' }), 'svelte.d.ts'),
  ],
};
