/**
 * Reports as labelled tiles for the next training run: a folder with tiles/*.png and labels.csv
 * (pix_sha1,file,class,method,task_id), read by training/gridlens_train/data.py (feedback_label_rows)
 * when the folder is given to `train.py --labels`. A 3x3 picture is cut into its nine photos, a 1x1
 * tile is kept as is. A tile is labelled the question's class when the user's right cells hold it;
 * the other tiles are labelled "other" only when the user gave the right cells explicitly. A report
 * that only says "wrong" labels nothing. 4x4 squares are pieces of one photo, not tiles: left out.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import type { FeedbackRow } from '../accounts/feedback.js';

export interface LabelledTile {
  file: string;
  className: string;
  method: string;
  taskId: string;
  png: Buffer;
  pixSha1: string;
}

export interface ExportSummary {
  reports: number;
  tiles: number;
  /** Reports that gave no label: only "wrong" without cells, a 4x4 picture, or a picture no longer stored. */
  skipped: { noCells: number; grid4: number; noPicture: number };
}

/** One cell of a rows x rows picture, as a PNG and the sha1 of its RGB pixels (what the Python loader checks). */
async function cell(picture: Buffer, rows: number, index: number): Promise<{ png: Buffer; pixSha1: string }> {
  const img = sharp(picture, { pages: 1 }).removeAlpha().toColourspace('srgb');
  const { width = 0, height = 0 } = await sharp(picture, { pages: 1 }).metadata();
  const r = Math.floor(index / rows);
  const c = index % rows;
  const left = Math.floor((c * width) / rows);
  const top = Math.floor((r * height) / rows);
  const region = { left, top, width: Math.floor(((c + 1) * width) / rows) - left, height: Math.floor(((r + 1) * height) / rows) - top };
  const { data, info } = await (rows === 1 ? img : img.extract(region)).raw().toBuffer({ resolveWithObject: true });
  const png = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).png().toBuffer();
  return { png, pixSha1: createHash('sha1').update(data).digest('hex') };
}

/** The labelled tiles of one report; empty when it labels none. */
export async function tilesOf(report: FeedbackRow): Promise<LabelledTile[]> {
  const { correction, picture, kind } = report;
  if (!correction || !picture || kind === '4x4') return [];
  const rows = kind === '3x3' ? 3 : 1;
  const label = (i: number): string =>
    'objects' in correction ? (correction.objects.includes(i) ? report.className : 'other') : correction.hasObject ? report.className : 'other';
  const how = `${report.source} ${report.invalid ? 'correction' : 'confirmation'} of ${report.questionId} (${kind}, report ${report.id}, ${report.createdAt.slice(0, 10)})`;
  const out: LabelledTile[] = [];
  for (let i = 0; i < rows * rows; i++) {
    const { png, pixSha1 } = await cell(picture, rows, i);
    out.push({ file: `tiles/${report.taskId}-${i}.png`, className: label(i), method: how, taskId: report.taskId, png, pixSha1 });
  }
  return out;
}

const csvField = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

export async function exportFeedback(reports: FeedbackRow[], outDir: string): Promise<ExportSummary> {
  mkdirSync(path.join(outDir, 'tiles'), { recursive: true });
  const summary: ExportSummary = { reports: reports.length, tiles: 0, skipped: { noCells: 0, grid4: 0, noPicture: 0 } };
  const lines = ['pix_sha1,file,class,method,task_id'];
  for (const report of reports) {
    if (report.kind === '4x4') summary.skipped.grid4++;
    else if (!report.picture) summary.skipped.noPicture++;
    else if (!report.correction) summary.skipped.noCells++;
    for (const t of await tilesOf(report)) {
      writeFileSync(path.join(outDir, t.file), t.png);
      lines.push([t.pixSha1, t.file, t.className, t.method, t.taskId].map(csvField).join(','));
      summary.tiles++;
    }
  }
  writeFileSync(path.join(outDir, 'labels.csv'), `${lines.join('\n')}\n`);
  return summary;
}
