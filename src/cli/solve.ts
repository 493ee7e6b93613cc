/** `gridlens solve`: answer one picture locally, without the server. */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { startSolver } from '../app.js';
import { readPicture } from '../imaging/decode.js';
import { isGridKind, GRID_KINDS } from '../imaging/grid.js';
import { ProtocolError } from '../protocol/errors.js';
import { parseConfidence, parseCreateTask } from '../protocol/requests.js';
import { GridlensClient, GridlensError } from '../client/index.js';
import { CliError } from './errors.js';

export const SOLVE_HELP = `gridlens solve: answer one challenge picture locally (no server, no key, no charge)

  gridlens solve PICTURE --question Q [--grid 3x3|4x4|1x1] [--confidence 0.5] [--model DIR]

  PICTURE        a JPEG, PNG, WebP or GIF: 300x300 (3x3), 450x450 (4x4), 100x100 (1x1),
                 or a screenshot of another size: the grid is found from its white
                 separators (margins are cut off), or named by --grid or the prompt text
  --question Q   a question ID (/m/015qff), or prompt text ("traffic lights", "红绿灯")
  --confidence C 3x3 only: every tile scoring at least C (default: the top three)
  --model DIR    model folder (default: MODEL_DIR or models/gridlens-tiles)
  --server URL   ask a running gridlens (or a vendor) instead, with --key KEY (charged as usual)

Prints {"kind", "question", "class", "solution": {..., "scores": [per cell]}} as JSON.`;

export async function solveCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, allowPositionals: true,
    options: { question: { type: 'string', short: 'q' }, grid: { type: 'string' }, confidence: { type: 'string' }, model: { type: 'string' }, server: { type: 'string' }, key: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return void console.log(SOLVE_HELP);
  const [file] = positionals;
  if (!file) throw new CliError('solve needs a PICTURE file; see gridlens solve --help');
  if (!values.question) throw new CliError('solve needs --question (an ID such as /m/015qff, or prompt text)');
  if (values.grid !== undefined && !isGridKind(values.grid)) throw new CliError(`--grid must be one of ${GRID_KINDS.join(', ')}, got ${values.grid}`);
  // checked here for both paths: through --server a bad value would otherwise travel as null and mean "absent"
  let confidence: number | undefined;
  try {
    confidence = parseConfidence(values.confidence);
  } catch {
    throw new CliError(`--confidence must be a number from 0.0 to 1.0, got ${values.confidence}`);
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (values.server) return solveRemote(values.server, values.key, bytes, values.question, confidence, values.grid);
  const config = loadConfig({ inferenceWorkers: 1, ...(values.model ? { modelDir: values.model } : {}) });
  const solver = await startSolver(config);
  try {
    const input = parseCreateTask({ task: { type: 'ReCaptchaV2Classification', image: 'x', question: values.question, confidence, grid: values.grid } });
    const picture = await readPicture(bytes, input.grid, config.maxImagePixels, input.promptGrid);
    const result = await solver.solve(picture, input.question, { confidence: input.confidence, withScores: true });
    console.log(JSON.stringify({ kind: picture.kind, ...(picture.crop ? { crop: picture.crop } : {}), question: input.question.id, class: result.className, solution: result.solution }, null, 2));
  } catch (err) {
    if (err instanceof ProtocolError) throw new CliError(`${err.errorCode}: ${err.message}`);
    throw err;
  } finally {
    await Promise.all(solver.models().map((m) => m.pool.close()));
  }
}

async function solveRemote(server: string, key: string | undefined, bytes: Buffer, question: string, confidence: number | undefined, grid: string | undefined): Promise<void> {
  if (!key) throw new CliError('--server needs --key (a client key of that server)');
  const client = new GridlensClient({ baseUrl: server, clientKey: key });
  try {
    const result = await client.solve(bytes, question, {
      scores: true,
      ...(confidence !== undefined ? { confidence } : {}),
      ...(grid ? { grid: grid as '3x3' | '4x4' | '1x1' } : {}),
    });
    console.log(JSON.stringify(result, null, 2));
  } catch (err) {
    if (err instanceof GridlensError) throw new CliError(err.message);
    throw new CliError(`cannot reach ${server}: ${(err as Error).message}`);
  }
}
