import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseCsv } from './csv.js';

it('parses quoted fields with commas, quotes and CRLF', () => {
  const rows = parseCsv('file,cells,note\r\na.jpg,"1,2,3","say ""hi"""\r\nb.jpg,,plain\n');
  assert.deepEqual(rows, [{ file: 'a.jpg', cells: '1,2,3', note: 'say "hi"' }, { file: 'b.jpg', cells: '', note: 'plain' }]);
});
