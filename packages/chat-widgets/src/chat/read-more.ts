/** Bodies longer than this (UTF-16 units) are folded behind "Read more": a 4,000-character message would fill screens. */
export const FOLD_OVER = 600;
/** A folded body shows up to this much, cut at the last space after `MIN_SHOWN`. */
const SHOWN = 480;
const MIN_SHOWN = 320;

/**
 * The start of a long body to show folded, or null when it is short enough to show whole. It is cut
 * at a space, so no word (and no link) is broken in two; a body without one is cut between code
 * points, and `whole` tells the caller the last word may be broken (it must not be made a link).
 */
export function foldedText(text: string): { shown: string; whole: boolean } | null {
  if (text.length <= FOLD_OVER) return null;
  const space = text.slice(0, SHOWN).search(/\s\S*$/);
  if (space >= MIN_SHOWN) return { shown: text.slice(0, space), whole: true };
  // Not in the middle of a surrogate pair (an emoji).
  const end = /[\uD800-\uDBFF]/.test(text[SHOWN - 1]!) ? SHOWN - 1 : SHOWN;
  return { shown: text.slice(0, end), whole: false };
}
