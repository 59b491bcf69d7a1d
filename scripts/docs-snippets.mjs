// The docs' code snippets are regions of the examples, which npm test typechecks, builds and runs.
// In a Markdown file,
//   <!-- snippet: examples/react/src/ServiceRequestChat.tsx#react -->
//   ```tsx
//   ...
//   ```
//   <!-- /snippet -->
// holds the lines between `#region react` and `#endregion react` of that file. Without arguments
// this rewrites the blocks; with --check it fails on any block that differs (npm test).
import { readFileSync, writeFileSync } from 'node:fs';
import { extname, join } from 'node:path';

const root = join(import.meta.dirname, '..');
const documents = ['README.md', 'docs/widgets.md', 'docs/sdk.md', 'docs/reference-server.md', 'docs/protocol.md'];
const check = process.argv.includes('--check');
const languages = { '.ts': 'ts', '.tsx': 'tsx', '.mjs': 'js', '.vue': 'vue', '.html': 'html', '.conf': 'nginx' };

function region(file, name) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const start = lines.findIndex((l) => new RegExp(`#region ${name}\\b`).test(l));
  const end = lines.findIndex((l, i) => i > start && new RegExp(`#endregion ${name}\\b`).test(l));
  if (start < 0 || end < 0) throw new Error(`${file}: no region "${name}"`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => l.match(/^ */)[0].length));
  return body.map((l) => l.slice(indent)).join('\n');
}

const block = /<!-- snippet: ([^#\s]+)#([\w-]+) -->\n```\w*\n[\s\S]*?```\n<!-- \/snippet -->/g;
let stale = 0;
for (const document of documents) {
  const path = join(root, document);
  const text = readFileSync(path, 'utf8');
  const updated = text.replace(block, (_, file, name) => {
    return `<!-- snippet: ${file}#${name} -->\n\`\`\`${languages[extname(file)]}\n${region(file, name)}\n\`\`\`\n<!-- /snippet -->`;
  });
  if (updated === text) continue;
  if (check) {
    console.error(`${document}: a snippet differs from its example; run \`npm run docs:snippets\``);
    stale++;
  } else {
    writeFileSync(path, updated);
    console.log(`${document}: snippets updated`);
  }
}
process.exit(stale ? 1 : 0);
