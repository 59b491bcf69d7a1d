/**
 * What an inbox's `q` matches, stored with each room so a filtered page reads
 * one column per row: per side, the room's title and the other side's name,
 * folded once on write. JavaScript folds (SQLite's lower() and NOCASE are
 * ASCII-only, so "Škoda" would not find "ŠKODA"); the query is folded alike and
 * matched as a plain substring of the stored key.
 */
export interface SearchKeys {
  /** What an owner's `q` matches: the title and the workshop's name. */
  user_search: string;
  /** What a workshop's `q` matches: the title and the owner's name. */
  workshop_search: string;
}

/**
 * Case- and compatibility-folded text: "Ｓｋｏｄａ" (full width) and "Skoda" fold alike, "ŠKODA" and "škoda"
 * too. Upper then lower case, so that letters whose upper case is two ("ß" → "SS") or whose lower case
 * depends on the position (Greek "ς", "σ" → "Σ") fold like their other forms.
 */
export function foldForSearch(text: string): string {
  return text.normalize('NFKC').toUpperCase().toLowerCase();
}

// A line break separates the parts: no `q` (trimmed, one line) matches across two of them.
const join = (...parts: (string | null | undefined)[]) => foldForSearch(parts.filter((p) => p).join('\n'));

/** A store writes these with every room, and again whenever it changes a room's title or a side's name. */
export function searchKeys(room: { title: string; user_name?: string | null; workshop_name?: string | null }): SearchKeys {
  return { user_search: join(room.title, room.workshop_name), workshop_search: join(room.title, room.user_name) };
}
