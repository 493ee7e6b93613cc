/**
 * Sample challenges for the playground, read at start-up from the shared data set (SAMPLES_DIR,
 * default ../shared/data): a few whole 3x3 challenges (grid3-v1) and labelled 4x4 ones (grid4-v1).
 * Nothing is bundled into the repository; without the folder the playground simply has no samples.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCsv } from '../eval/csv.js';
import { readTar } from '../eval/tar.js';

export interface Sample {
  id: string;
  label: string;
  question: string;
  grid: '3x3' | '4x4';
  mime: string;
  bytes: Buffer;
}

const GRID4_QUESTION: Record<string, string> = { motorcycle: '/m/04_sv', bicycle: '/m/0199g', traffic_light: '/m/015qff', crosswalk: '/m/014xcs', bus: '/m/01bjv', stairs: '/m/01lynh', hydrant: '/m/01pns0' };

export function loadSamples(dataDir: string, perKind = 4): Sample[] {
  const out: Sample[] = [];
  const g3 = path.join(dataDir, 'grid3-v1', 'grid3-000.tar');
  if (existsSync(g3)) {
    for (const e of readTar(g3)) {
      if (out.length >= perKind) break;
      out.push({ id: `g3-${out.length}`, label: `3x3 challenge ${out.length + 1}`, question: '/m/0k4j', grid: '3x3', mime: 'image/jpeg', bytes: e.data });
    }
  }
  const g4 = path.join(dataDir, 'grid4-v1');
  if (existsSync(path.join(g4, 'labels.csv'))) {
    const labels = parseCsv(readFileSync(path.join(g4, 'labels.csv'), 'utf8'));
    const wanted = new Map<string, string>();
    for (const r of labels) if (wanted.size < perKind && GRID4_QUESTION[r.question!] && ![...wanted.values()].includes(r.question!)) wanted.set(r.file!, r.question!);
    for (const e of readTar(path.join(g4, 'grid4-train.tar'))) {
      const q = wanted.get(path.basename(e.name));
      if (q) out.push({ id: `g4-${out.length}`, label: `4x4: ${q.replace('_', ' ')}`, question: GRID4_QUESTION[q]!, grid: '4x4', mime: 'image/jpeg', bytes: e.data });
    }
  }
  return out;
}
