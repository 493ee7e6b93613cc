import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROMPT_WORDINGS } from './prompts.js';
import { QUESTIONS, promptGrid, resolveQuestion, suggestQuestions } from './questions.js';

it('resolves IDs, prompt text in English and Chinese names to the same question', () => {
  const cases: [string, string][] = [
    ['/m/015qff', '/m/015qff'], ['/M/015QFF', '/m/015qff'], ['traffic lights', '/m/015qff'],
    ['Select all squares with traffic lights', '/m/015qff'], ['Select all images with a fire hydrant', '/m/01pns0'],
    ['bicycles', '/m/0199g'], ['a bus', '/m/01bjv'], ['Select all images with crosswalks. If there are none, click skip', '/m/014xcs'],
    ['红绿灯', '/m/015qff'], ['山', '/m/09d_r'], ['mountains or hills', '/m/09d_r'], ['school bus', '/m/02yvhj'],
  ];
  for (const [text, id] of cases) assert.equal(resolveQuestion(text)?.id, id, text);
});

it('rejects unknown and oversized questions', () => {
  assert.equal(resolveQuestion('/m/0000'), undefined);
  assert.equal(resolveQuestion('elephants'), undefined);
  assert.equal(resolveQuestion('cars'.repeat(1000)), undefined);
});

it('has the 17 questions of the vendor table with unique IDs', () => {
  const ids = QUESTIONS.map((q) => q.id);
  assert.equal(new Set(ids).size, ids.length);
  assert.ok(ids.length >= 17);
});

describe('real prompt wordings (prompts.ts)', () => {
  for (const w of PROMPT_WORDINGS) {
    it(`${JSON.stringify(w.text)} → ${w.id}${w.grid ? `, ${w.grid}` : ''}`, () => {
      assert.equal(resolveQuestion(w.text)?.id, w.id);
      assert.equal(promptGrid(w.text), w.grid);
    });
  }
});

describe('suggestQuestions: did you mean', () => {
  it('names the closest known question for a misspelling or a truncated ID', () => {
    assert.equal(suggestQuestions('trafic lights')[0]?.english, 'traffic lights');
    assert.equal(suggestQuestions('/m/015qf')[0]?.english, 'traffic lights');
    assert.equal(suggestQuestions('Select all images with bycicles')[0]?.english, 'bicycles');
    assert.equal(suggestQuestions('moterbikes')[0]?.english, 'motorcycles');
  });
  it('suggests nothing for text far from every question', () => {
    assert.deepEqual(suggestQuestions('elephants'), []);
    assert.deepEqual(suggestQuestions('x'.repeat(500)), []);
  });
});
