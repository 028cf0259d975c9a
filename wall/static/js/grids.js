// grids.js — wall grid sizes: "3x3" ⇄ 3 columns, and the smallest grid that fits N cameras.

export const GRIDS = ["1x1", "2x2", "3x3", "4x4", "5x5", "6x6"];

/** Side of a grid string ("3x3" → 3); also accepts a tile count ("9" → 3). Null if invalid. */
export function gridSide(text) {
  if (text == null) return null;
  const value = String(text).trim().toLowerCase();
  const match = /^([1-6])x([1-6])$/.exec(value);
  if (match && match[1] === match[2]) return Number(match[1]);
  const count = Number(value);
  if (Number.isInteger(count) && count > 0) {
    const side = Math.sqrt(count);
    if (Number.isInteger(side) && side <= 6) return side;
  }
  return null;
}

export const gridName = (side) => `${side}x${side}`;

/** Smallest square grid (max 6x6) holding `count` tiles. */
export function fitSide(count) {
  return Math.min(6, Math.max(1, Math.ceil(Math.sqrt(Math.max(1, count)))));
}
