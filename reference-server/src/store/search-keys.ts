/**
 * What an inbox's `q` matches, stored with each room so a filtered page reads
 * one column per row: per side, the room's title and the other side's name,
 * folded once on write. JavaScript folds (SQLite's lower() and NOCASE are
 * ASCII-only, so "Škoda" would not find "ŠKODA"); the query is folded alike and
 * matched as a plain substring of the stored key.
 */
export interface SearchKeys {
  /** What an owner's `q` matches: the title (and, once rooms carry it, the workshop's name). */
  user_search: string;
  /** What a workshop's `q` matches: the title (and, once rooms carry it, the owner's name). */
  workshop_search: string;
}

/** Case- and compatibility-folded text: "ＳＫＯＤＡ", "Škoda" and "ŠKODA" fold to what "škoda" folds to. */
export function foldForSearch(text: string): string {
  return text.normalize('NFKC').toLowerCase();
}

// A line break separates the parts: no `q` (trimmed, one line) matches across two of them.
const join = (...parts: (string | null | undefined)[]) => foldForSearch(parts.filter((p) => p).join('\n'));

export function searchKeys(room: { title: string }): SearchKeys {
  return { user_search: join(room.title), workshop_search: join(room.title) };
}
