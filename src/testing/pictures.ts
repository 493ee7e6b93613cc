/** Test pictures whose right answer is known for the colour fixture model (training/make_fixture.py). */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export type Rgb = readonly [number, number, number];
export const RED: Rgb = [230, 20, 20];
export const BLUE: Rgb = [20, 20, 230];
export const GREEN: Rgb = [20, 230, 20];
export const BLACK: Rgb = [0, 0, 0];

/** A side x side picture whose rows x rows cells are filled with the given colours. */
export async function gridPicture(cells: readonly Rgb[], side: number, format: 'png' | 'jpeg' | 'gif' | 'webp' = 'png'): Promise<Buffer> {
  const rows = Math.round(Math.sqrt(cells.length));
  const raw = Buffer.alloc(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const cell = cells[Math.min(rows - 1, Math.floor((y * rows) / side)) * rows + Math.min(rows - 1, Math.floor((x * rows) / side))]!;
      raw.set(cell, (y * side + x) * 3);
    }
  }
  const img = sharp(raw, { raw: { width: side, height: side, channels: 3 } });
  return (format === 'jpeg' ? img.jpeg({ quality: 95 }) : format === 'gif' ? img.gif() : format === 'webp' ? img.webp({ lossless: true }) : img.png()).toBuffer();
}

export function cellsWith(n: number, colour: Rgb, at: readonly number[], rest: Rgb = BLACK): Rgb[] {
  return Array.from({ length: n }, (_, i) => (at.includes(i) ? colour : rest));
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A valid-looking PNG of a few hundred bytes that declares width x height pixels (a decompression bomb). */
export function pngBomb(width = 100_000, height = 100_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const rows = deflateSync(Buffer.alloc((width * 3 + 1) * 4));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', rows), chunk('IEND', Buffer.alloc(0))]);
}

/** A GIF that is small on the wire (about 12 KB) but 4096x4096 once decoded: the stall of issue 19, case 3. */
export async function bigGif(side = 4096): Promise<Buffer> {
  return sharp({ create: { width: side, height: side, channels: 3, background: { r: 230, g: 20, b: 20 } } }).gif().toBuffer();
}

export interface ScreenshotLayout {
  /** Cell side in px. */
  cell: number;
  /** White separator width in px. */
  separator: number;
  /** Margin on each side: left, top, right, bottom. */
  margin: readonly [number, number, number, number];
  background?: Rgb;
}

/** A screenshot of a challenge: cells of the given colours spaced by white separators, inside margins. Returns the grid's box too. */
export async function screenshotPicture(cells: readonly Rgb[], layout: ScreenshotLayout, format: 'png' | 'jpeg' = 'png'): Promise<{ bytes: Buffer; box: { left: number; top: number; right: number; bottom: number } }> {
  const rows = Math.round(Math.sqrt(cells.length));
  const { cell, separator, margin: [ml, mt, mr, mb], background = [255, 255, 255] } = layout;
  const side = rows * cell + (rows - 1) * separator;
  const width = ml + side + mr;
  const height = mt + side + mb;
  const raw = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const gx = x - ml;
      const gy = y - mt;
      let c: Rgb = background;
      if (gx >= 0 && gy >= 0 && gx < side && gy < side) {
        const cx = Math.floor(gx / (cell + separator));
        const cy = Math.floor(gy / (cell + separator));
        c = gx - cx * (cell + separator) >= cell || gy - cy * (cell + separator) >= cell ? [255, 255, 255] : cells[cy * rows + cx]!;
      }
      raw.set(c, (y * width + x) * 3);
    }
  }
  const img = sharp(raw, { raw: { width, height, channels: 3 } });
  const bytes = await (format === 'jpeg' ? img.jpeg({ quality: 85 }) : img.png()).toBuffer();
  return { bytes, box: { left: ml, top: mt, right: ml + side, bottom: mt + side } };
}
