/** From per-cell scores to the protocol's answer (shared/docs/protocol.md, createTask). */
export type Solution =
  | { type: 'multi'; objects: number[]; scores?: number[] }
  | { type: 'single'; hasObject: boolean; scores?: number[] };

/** 3x3: without confidence the top three cells (a challenge needs at least three clicks); with it, every cell at or above it. */
export function select3x3(scores: readonly number[], confidence: number | undefined): number[] {
  const order = scores.map((s, i) => [s, i] as const);
  const picked = confidence === undefined
    ? [...order].sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 3)
    : order.filter(([s]) => s >= confidence);
  return picked.map(([, i]) => i).sort((a, b) => a - b);
}

/** 4x4: every square whose score reaches the class's calibrated threshold. */
export function selectAbove(scores: readonly number[], threshold: number): number[] {
  return scores.flatMap((s, i) => (s >= threshold ? [i] : []));
}

export function roundScores(scores: readonly number[]): number[] {
  return scores.map((s) => Math.round(s * 10000) / 10000);
}
