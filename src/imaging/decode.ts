/**
 * Untrusted bytes to an RGB raster of a known grid kind. The header is read first (no
 * decode), so a PNG that declares 100000x100000 is refused before any pixel is allocated;
 * the decode itself runs with sharp's limitInputPixels as a second guard.
 */
import sharp, { type Metadata } from 'sharp';
import { ProtocolError } from '../protocol/errors.js';
import { GRIDS, gridBySide, type GridKind } from './grid.js';
import { assembleCells, detectGrid, type GridBox, type GridGeometry, type Raster } from './detect-grid.js';

const FORMATS = new Set(['jpeg', 'png', 'webp', 'gif']);
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export interface Picture {
  kind: GridKind;
  /** RGB, side x side, row-major. */
  raw: Buffer;
  side: number;
  rows: number;
  /** Where the grid was found in a screenshot (its cells were cut out from there). */
  crop?: GridBox;
}

export function decodeBase64(text: string): Buffer {
  const body = text.replace(/^data:image\/[a-z+.-]+;base64,/i, '').replace(/\s+/g, '');
  if (body.length === 0 || !BASE64.test(body) || body.length % 4 === 1) {
    throw new ProtocolError('ERROR_PARSE_IMAGE_FAIL', 'task.image is not valid base64: expected base64 of a JPEG, PNG, WebP or GIF image (an optional data:image/...;base64, prefix is stripped)');
  }
  return Buffer.from(body, 'base64');
}

async function header(bytes: Buffer): Promise<Metadata> {
  try {
    return await sharp(bytes, { pages: 1, limitInputPixels: false }).metadata();
  } catch {
    throw new ProtocolError('ERROR_PARSE_IMAGE_FAIL', 'task.image decodes from base64 but is not an image: expected a JPEG, PNG, WebP or GIF');
  }
}

const SIZES = 'allowed: 100x100 (1x1), 300x300 (3x3), 450x450 (4x4)';
/** A screenshot this small without separators is one replacement tile (tiles come at 100-130 px). */
const TILE_MAX_SIDE = 160;

function roughlySquare(width: number, height: number): boolean {
  const ratio = width / height;
  return ratio >= 0.8 && ratio <= 1.25 && Math.min(width, height) >= 32;
}

/**
 * The kind of a picture of another size than the protocol's: task.grid, else the prompt's
 * wording ("images" 3x3, "squares" 4x4), else the separators found in it; with the kind known,
 * the separators give the crop. A plain tile-sized picture is a 1x1; anything else is refused,
 * saying what to send.
 */
function pickKind(img: Raster, grid: GridKind | undefined, hint: GridKind | undefined): { kind: GridKind; found?: GridGeometry } {
  const { width, height } = img;
  const wanted = grid ?? hint;
  if (wanted === '1x1') return { kind: '1x1' };
  const found = detectGrid(img, wanted === '3x3' ? 3 : wanted === '4x4' ? 4 : undefined);
  if (found) return { kind: found.rows === 3 ? '3x3' : '4x4', found };
  if (!roughlySquare(width, height)) {
    throw new ProtocolError('ERROR_ILLEGAL_IMAGE', `task.image is ${width}x${height} and no grid of white separators was found in it; send the challenge picture itself (${SIZES}) or a screenshot of just the grid (roughly square, aspect 0.8-1.25)`);
  }
  if (grid) return { kind: grid };
  if (Math.max(width, height) <= TILE_MAX_SIDE) return { kind: '1x1' };
  if (hint) return { kind: hint };
  throw new ProtocolError('ERROR_ILLEGAL_IMAGE', `task.image is ${width}x${height}, and no grid was found in it (the white lines between cells); ${SIZES}; or set task.grid to "3x3", "4x4" or "1x1", or send the prompt text as task.question ("Select all images with ..." is a 3x3, "Select all squares with ..." a 4x4)`);
}

async function rasterOf(bytes: Buffer, maxPixels: number): Promise<Raster> {
  const { data, info } = await sharp(bytes, { pages: 1, limitInputPixels: maxPixels, failOn: 'truncated' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** A protocol-size picture (side x side already), decoded to RGB. */
async function exactRaster(bytes: Buffer, side: number, maxPixels: number): Promise<Buffer> {
  const img = sharp(bytes, { pages: 1, limitInputPixels: maxPixels, failOn: 'truncated' }).removeAlpha().toColourspace('srgb');
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== side || info.height !== side) throw new Error(`unexpected raster ${info.width}x${info.height}x${info.channels}`);
  return data;
}

function undecodable(err: unknown): ProtocolError {
  return new ProtocolError('ERROR_PARSE_IMAGE_FAIL', `task.image could not be decoded (${(err as Error).message.split('\n')[0]}); expected a complete JPEG, PNG, WebP or GIF`);
}

/** What the header says, read without decoding a pixel: enough to refuse a picture, price it and gate its decode. */
export interface PictureHeader {
  /**
   * The kind, when the header alone tells it: a protocol size (100/300/450 square, unless task.grid
   * says otherwise), task.grid, or the prompt's kind for a screenshot too large to be one tile.
   * Undefined when only the pixels can tell (a small screenshot without grid or prompt kind).
   */
  kind: GridKind | undefined;
  width: number;
  height: number;
  format: string;
  bytes: Buffer;
  /** task.grid */
  grid: GridKind | undefined;
  /** The kind the prompt text names (questions.ts promptGrid). */
  hint: GridKind | undefined;
}

/** The largest native challenge (450x450): a picture up to this many pixels is cheap to decode. */
export const SMALL_PICTURE_PIXELS = 450 * 450;

/**
 * `grid`: task.grid; `hint`: the kind the prompt text names (questions.ts promptGrid). The
 * protocol's own sizes (100/300/450 square) keep the size rule unless task.grid says otherwise.
 */
export async function readHeader(bytes: Buffer, grid: GridKind | undefined, maxPixels: number, hint?: GridKind): Promise<PictureHeader> {
  const meta = await header(bytes);
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (!meta.format || !FORMATS.has(meta.format) || width === 0 || height === 0) {
    throw new ProtocolError('ERROR_PARSE_IMAGE_FAIL', `task.image is ${meta.format ?? 'an unknown format'}; allowed: JPEG, PNG, WebP, GIF`);
  }
  if (width * height > maxPixels) {
    throw new ProtocolError('ERROR_ILLEGAL_IMAGE', `task.image declares ${width}x${height} pixels, more than the ${maxPixels}-pixel limit; allowed: 100x100, 300x300, 450x450`);
  }
  const bySize = gridBySide(width, height);
  const kind = bySize && (grid === undefined || grid === bySize) ? bySize
    : grid ?? (hint && Math.max(width, height) > TILE_MAX_SIDE ? hint : undefined);
  return { kind, width, height, format: meta.format, bytes, grid, hint };
}

/**
 * The pixels, scaled to the kind's side (a screenshot's kind and crop found from them when the
 * header could not tell); sharp's limitInputPixels guards a header that lied.
 */
export async function decodePicture(h: PictureHeader, maxPixels: number): Promise<Picture> {
  const { bytes, grid, hint } = h;
  const bySize = gridBySide(h.width, h.height);
  if (bySize && (grid === undefined || grid === bySize)) {
    const { side, rows } = GRIDS[bySize];
    try {
      return { kind: bySize, raw: await exactRaster(bytes, side, maxPixels), side, rows };
    } catch (err) {
      throw undecodable(err);
    }
  }
  let img: Raster;
  try {
    img = await rasterOf(bytes, maxPixels);
  } catch (err) {
    throw undecodable(err);
  }
  const { kind, found } = pickKind(img, grid, hint);
  const { side, rows } = GRIDS[kind];
  if (found) return { kind, raw: assembleCells(img, found, side), side, rows, crop: found.box };
  // no separators: scale the pixels already decoded rather than decoding the picture again
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 3 } })
    .resize(side, side, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== side || info.height !== side) throw new Error(`unexpected raster ${info.width}x${info.height}x${info.channels}`);
  return { kind, raw: data, side, rows };
}

/** Header, then pixels (the CLI and evaluation; the service checks the account between the two). */
export async function readPicture(bytes: Buffer, grid: GridKind | undefined, maxPixels: number, hint?: GridKind): Promise<Picture> {
  return decodePicture(await readHeader(bytes, grid, maxPixels, hint), maxPixels);
}
