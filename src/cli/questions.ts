/** `gridlens questions`: the question IDs, and per grid kind whether the configured models answer each, how well, or why not. */
import { parseArgs } from 'node:util';
import { loadConfig, resolveFromRoot } from '../config.js';
import { GRID_KINDS } from '../imaging/grid.js';
import { loadModel } from '../model/manifest.js';
import { QUESTIONS } from '../protocol/questions.js';
import { questionTable, type Coverage } from '../solver/coverage.js';

export const QUESTIONS_HELP = `gridlens questions: the question IDs and what the models answer

  gridlens questions [--json] [--model DIR] [--model-4x4 DIR]

For each question and grid (3x3, 4x4, 1x1): "yes" with the model's validation figures
(precision/recall for the class, or the 4x4 model's square F1), or why not ("trained, but
below its validation gate", "no trained class"). Models: MODEL_DIR and MODEL_DIR_4X4.`;

function cell(c: Coverage): string {
  if (!c.answered) return c.reason?.startsWith('trained') ? 'gated' : 'no class';
  const m = c.metrics ?? {};
  if (c.metricsOf === 'model') return m.f1 !== undefined ? `yes F1 ${m.f1.toFixed(2)}*` : 'yes*';
  if (m.recall !== undefined && m.precision !== undefined) return `yes P${Math.round(m.precision * 100)} R${Math.round(m.recall * 100)}`;
  return 'yes';
}

export function questionsCommand(argv: string[]): void {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, model: { type: 'string' }, 'model-4x4': { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return void console.log(QUESTIONS_HELP);
  const config = loadConfig({ ...(values.model ? { modelDir: values.model } : {}), ...(values['model-4x4'] !== undefined ? { modelDir4x4: values['model-4x4'] } : {}) });
  const tiles = loadModel(resolveFromRoot(config.modelDir)).manifest;
  const grid4 = config.modelDir4x4 ? loadModel(resolveFromRoot(config.modelDir4x4)).manifest : undefined;
  const rows = questionTable((k) => (k === '4x4' && grid4 ? grid4 : tiles), QUESTIONS);
  if (values.json) return void console.log(JSON.stringify({ questions: rows }, null, 2));
  console.log(`${'ID'.padEnd(11)} ${'question'.padEnd(20)} ${GRID_KINDS.map((k) => k.padEnd(14)).join(' ')} 中文`);
  for (const q of rows) console.log(`${q.id.padEnd(11)} ${q.english.padEnd(20)} ${GRID_KINDS.map((k) => cell(q.answers[k]).padEnd(14)).join(' ')} ${q.chinese}`);
  console.log(`\nmodels: 3x3/1x1 ${tiles.name}, 4x4 ${(grid4 ?? tiles).name}; P/R: validation precision/recall of the class; *: the model's overall figure (its square F1 over all questions); gated: trained, but below its validation gate`);
}
