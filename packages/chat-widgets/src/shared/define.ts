/**
 * Registers a custom element once. A page that loads two copies of the widgets (a bundle plus the
 * standalone script, or two versions) would otherwise throw on the second `define`; it warns instead
 * and keeps the first definition. Without a DOM (SSR, Node) there is nothing to register.
 */
export function define(name: string, ctor: CustomElementConstructor): void {
  const registry = (globalThis as { customElements?: CustomElementRegistry }).customElements;
  if (!registry) return;
  const existing = registry.get(name);
  if (existing) {
    if (existing !== ctor) {
      console.warn(`[motoreach] <${name}> is already defined (two copies of @motoreach/chat-widgets on this page?); keeping the first definition.`);
    }
    return;
  }
  registry.define(name, ctor);
}
