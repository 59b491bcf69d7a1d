export interface Sequenced {
  seq: number | null;
}

// Inserts `incoming` into `list` (ascending by seq, no duplicates), in place.
// Returns the messages that were not there before, in seq order.
export function mergeBySeq<T extends Sequenced>(list: T[], incoming: readonly T[]): T[] {
  const added: T[] = [];
  for (const m of [...incoming].sort((a, b) => a.seq! - b.seq!)) {
    const seq = m.seq!;
    let i = list.length;
    // Almost everything arrives at the end; walk back from there.
    while (i > 0 && list[i - 1]!.seq! > seq) i--;
    if (i > 0 && list[i - 1]!.seq === seq) continue;
    list.splice(i, 0, m);
    added.push(m);
  }
  return added;
}

// The highest seq up to which `list` holds every message without a hole, counting from its oldest one.
// Resume fetches after this, so a message that reached us out of band (a REST answer) never hides a gap.
export function contiguousEnd(list: readonly Sequenced[]): number {
  if (!list.length) return 0;
  let end = list[0]!.seq!;
  for (let i = 1; i < list.length && list[i]!.seq === end + 1; i++) end++;
  return end;
}
