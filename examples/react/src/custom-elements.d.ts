// The elements' JSX types, generated from the widgets' custom-elements.json: `<motoreach-badge>`
// and `<motoreach-chat>` are checked like React components.
// #region jsx-types
import type { CustomElements } from '@motoreach/chat-widgets/jsx';

declare module 'react' {
  namespace JSX {
    interface IntrinsicElements extends CustomElements {}
  }
}
// #endregion jsx-types
