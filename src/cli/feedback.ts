/** `gridlens feedback ...`: the reports of wrong answers, listed or exported as labelled tiles. */
import { parseArgs } from 'node:util';
import { exportFeedback } from '../feedback/export.js';
import { CliError } from './errors.js';
import { openConfiguredStore } from './store.js';

export const FEEDBACK_HELP = `gridlens feedback: reports of wrong answers (POST /feedbackTask, /reportIncorrectImageCaptcha)

  gridlens feedback list [--json]          every report: task, key, kind, question, our answer, the user's cells, refund
  gridlens feedback export --out DIR       tiles/*.png + labels.csv, one more source for training/train.py --labels DIR

Options:
  --db PATH     SQLite file (default: DB_PATH or data/gridlens.sqlite); with DATABASE_URL set, PostgreSQL`;

const cells = (c: unknown) => (c === undefined ? '-' : JSON.stringify(c).replace(/[{}"]/g, ''));

export async function feedbackCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { json: { type: 'boolean' }, out: { type: 'string' }, db: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [action] = positionals;
  if (values.help || !action) return void console.log(FEEDBACK_HELP);
  if (action !== 'list' && action !== 'export') throw new CliError(`unknown feedback action ${JSON.stringify(action)}; allowed: list, export`);
  if (action === 'export' && !values.out) throw new CliError('feedback export needs --out DIR: gridlens feedback export --out DIR');
  const store = await openConfiguredStore(values.db);
  try {
    if (action === 'list') {
      const rows = await store.listFeedback();
      if (values.json) return void console.log(JSON.stringify(rows.map(({ picture: _p, ...r }) => r)));
      console.log('id  created     key  source                       kind question   class          answer            right cells       refunded picture');
      for (const r of rows) {
        const answer = r.answer.type === 'single' ? `hasObject:${r.answer.hasObject}` : `objects:[${r.answer.objects.join(',')}]`;
        console.log(`${String(r.id).padEnd(3)} ${r.createdAt.slice(0, 10)}  ${String(r.accountId).padEnd(4)} ${r.source.padEnd(28)} ${r.kind}  ${r.questionId.padEnd(10)} ${r.className.padEnd(14)} ${answer.padEnd(17)} ${cells(r.correction).padEnd(17)} ${String(r.refunded).padStart(8)} ${r.pictureBytes ? `${r.pictureBytes} B` : 'none'}`);
      }
      return;
    }
    const s = await exportFeedback(await store.listFeedback({ pictures: true }), values.out!);
    console.log(`wrote ${s.tiles} labelled tiles from ${s.reports} reports to ${values.out} (labels.csv, tiles/); without a label: ${s.skipped.noCells} gave no cells, ${s.skipped.grid4} 4x4, ${s.skipped.noPicture} without a picture`);
  } finally {
    await store.close();
  }
}
