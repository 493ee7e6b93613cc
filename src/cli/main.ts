#!/usr/bin/env node
/** The gridlens command line: serve, keys, solve, eval, questions. */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, settingsTable, type SettingName } from '../config.js';
import { serve } from '../server.js';
import { CliError } from './errors.js';
import { evalCommand } from './eval.js';
import { calibrateGrid4Command } from './calibrate-grid4.js';
import { feedbackCommand } from './feedback.js';
import { keysCommand } from './keys.js';
import { questionsCommand } from './questions.js';
import { solveCommand } from './solve.js';
import { usageCommand } from './usage.js';
import { VERSION } from '../version.js';

const HELP = `gridlens: self-hosted recognition for reCAPTCHA v2 image challenges

Usage: gridlens <command> [options]        (gridlens <command> --help for details)

Commands:
  serve            run the HTTP service (createTask, getTaskResult, getBalance, getSoftID, feedbackTask, ...)
  keys             create, credit, list and revoke client keys
  feedback         list the reports of wrong answers, or export them as labelled tiles
  solve            answer one picture locally: gridlens solve grid.jpg --question /m/015qff
  eval             measure a model on labelled tiles (--tiles) or 4x4 challenges (--grid4)
  calibrate-grid4  fit a tile model's 4x4 settings on labelled 4x4 challenges
  usage            tasks, points and refunds per day from the ledger
  questions        list the question IDs, and whether (and how well) the models answer each [--json]

Quick start:
  gridlens keys create --points 100000 --json
  gridlens serve --port 8080

Options:
  --help, -h       this text (gridlens <command> --help: that command's)
  --version, -v    gridlens's version`;

const SERVE_HELP = `gridlens serve: run the service

  gridlens serve [--port N] [--host ADDR] [--db PATH] [--model DIR]

Every setting is an environment variable (flags override them):
  VARIABLE             DEFAULT                  MEANING
${settingsTable()}`;

async function serveCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { port: { type: 'string' }, host: { type: 'string' }, db: { type: 'string' }, model: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) return void console.log(SERVE_HELP);
  const flags: Partial<Record<SettingName, string>> = {};
  if (values.port !== undefined) flags.port = values.port;
  if (values.host !== undefined) flags.host = values.host;
  if (values.db !== undefined) flags.dbPath = values.db;
  if (values.model !== undefined) flags.modelDir = values.model;
  await serve(loadConfig(flags));
}

const COMMANDS: Record<string, (argv: string[]) => Promise<void> | void> = {
  serve: serveCommand, keys: keysCommand, feedback: feedbackCommand, usage: usageCommand, solve: solveCommand, eval: evalCommand, 'calibrate-grid4': calibrateGrid4Command, questions: questionsCommand,
};

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') return void console.log(HELP);
  if (command === '--version' || command === '-v' || command === 'version') return void console.log(VERSION);
  const run = COMMANDS[command];
  if (!run) throw new CliError(`unknown command ${JSON.stringify(command)}; commands: ${Object.keys(COMMANDS).join(', ')} (gridlens --help)`);
  await run(rest);
}

main(process.argv.slice(2)).catch((err: Error & { code?: string }) => {
  const known = err instanceof CliError || err instanceof ConfigError || err.code?.startsWith('ERR_PARSE_ARGS');
  console.error(`gridlens: ${known ? err.message : err.stack ?? err.message}`);
  process.exit(known ? 2 : 1);
});

