import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// `npm run dev`: the page on :5173, the chat API and sockets proxied to the reference server that
// `npm start` runs at the repository root, so the app talks to its own origin as in production.
const chat = { target: process.env.CHAT_URL ?? 'http://127.0.0.1:8080', changeOrigin: true };

export default defineConfig({
  // #region vue-config
  plugins: [vue({ template: { compilerOptions: { isCustomElement: (tag) => tag.startsWith('motoreach-') } } })],
  // #endregion vue-config
  server: { proxy: { '/api': chat, '/ws': { ...chat, ws: true } } },
});
