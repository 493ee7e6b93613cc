/**
 * Untrusted bytes to an RGB raster of a known grid kind. The header is read first (no
 * decode), so a PNG that declares 100000x100000 is refused before any pixel is allocated;
 * the decode itself runs with sharp's limitInputPixels as a second guard.
 */
import sharp, { type Metadata } from 'sharp';
import { ProtocolError } from '../protocol/errors.js';
import { GRIDS, gridBySide, type GridKind } from './grid.js';

const FORMATS = new Set(['jpeg', 'png', 'webp', 'gif']);
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

export interface Picture {
  kind: GridKind;
  /** RGB, side x side, row-major. */
  raw: Buffer;
  side: number;
  rows: number;
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

function pickKind(width: number, height: number, grid: GridKind | undefined): GridKind {
  const sizes = 'allowed: 100x100 (1x1), 300x300 (3x3), 450x450 (4x4)';
  if (grid === undefined) {
    const kind = gridBySide(width, height);
    if (kind) return kind;
    throw new ProtocolError('ERROR_ILLEGAL_IMAGE', `task.image is ${width}x${height}; ${sizes}, or set task.grid to "3x3", "4x4" or "1x1" for a screenshot of another size`);
  }
  const ratio = width / height;
  if (ratio < 0.8 || ratio > 1.25 || Math.min(width, height) < 32) {
    throw new ProtocolError('ERROR_ILLEGAL_IMAGE', `task.image is ${width}x${height}; with task.grid the picture must be roughly square (aspect 0.8-1.25) and at least 32 px a side`);
  }
  return grid;
}

/** What the header says, read without decoding a pixel: enough to refuse a picture, price it and gate its decode. */
export interface PictureHeader {
  kind: GridKind;
  width: number;
  height: number;
  format: string;
  bytes: Buffer;
}

/** The largest native challenge (450x450): a picture up to this many pixels is cheap to decode. */
export const SMALL_PICTURE_PIXELS = 450 * 450;

export async function readHeader(bytes: Buffer, grid: GridKind | undefined, maxPixels: number): Promise<PictureHeader> {
  const meta = await header(bytes);
  const width = meta.width ?? 0;
  const height = meta.pageHeight ?? meta.height ?? 0;
  if (!meta.format || !FORMATS.has(meta.format) || width === 0 || height === 0) {
    throw new ProtocolError('ERROR_PARSE_IMAGE_FAIL', `task.image is ${meta.format ?? 'an unknown format'}; allowed: JPEG, PNG, WebP, GIF`);
  }
  if (width * height > maxPixels) {
    throw new ProtocolError('ERROR_ILLEGAL_IMAGE', `task.image declares ${width}x${height} pixels, more than the ${maxPixels}-pixel limit; allowed: 100x100, 300x300, 450x450`);
  }
  return { kind: pickKind(width, height, grid), width, height, format: meta.format, bytes };
}

/** The pixels, scaled to the kind's side; sharp's limitInputPixels guards a header that lied. */
export async function decodePicture(h: PictureHeader, maxPixels: number): Promise<Picture> {
  const { side, rows } = GRIDS[h.kind];
  try {
    let img = sharp(h.bytes, { pages: 1, limitInputPixels: maxPixels, failOn: 'truncated' }).removeAlpha().toColourspace('srgb');
    if (h.width !== side || h.height !== side) img = img.resize(side, side, { fit: 'fill' });
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 || info.width !== side || info.height !== side) throw new Error(`unexpected raster ${info.width}x${info.height}x${info.channels}`);
    return { kind: h.kind, raw: data, side, rows };
  } catch (err) {
    throw new ProtocolError('ERROR_PARSE_IMAGE_FAIL', `task.image could not be decoded (${(err as Error).message.split('\n')[0]}); expected a complete JPEG, PNG, WebP or GIF`);
  }
}

/** Header, then pixels (the CLI and evaluation; the service checks the account between the two). */
export async function readPicture(bytes: Buffer, grid: GridKind | undefined, maxPixels: number): Promise<Picture> {
  return decodePicture(await readHeader(bytes, grid, maxPixels), maxPixels);
}
