/** The three picture kinds of the protocol (shared/docs/protocol.md, createTask table). */
export const GRID_KINDS = ['3x3', '4x4', '1x1'] as const;
export type GridKind = (typeof GRID_KINDS)[number];

export interface GridSpec {
  rows: number;
  /** Side in pixels of the vendor's picture of this kind. */
  side: number;
}

export const GRIDS: Readonly<Record<GridKind, GridSpec>> = {
  '3x3': { rows: 3, side: 300 },
  '4x4': { rows: 4, side: 450 },
  '1x1': { rows: 1, side: 100 },
};

export function gridBySide(width: number, height: number): GridKind | undefined {
  if (width !== height) return undefined;
  return GRID_KINDS.find((k) => GRIDS[k].side === width);
}

export function isGridKind(v: unknown): v is GridKind {
  return typeof v === 'string' && (GRID_KINDS as readonly string[]).includes(v);
}
