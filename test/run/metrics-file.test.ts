// metrics.csv read back for a resume: rows checked, a row cut short by a crash kept apart, damage refused with its line.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {METRICS_HEADER, metricsCsvRows, readMetricsFile} from '../../src/run/metrics-file.js'
import {tempDir} from '../helpers.js'

const row = (epoch: number) => `${epoch},1.5,0.25,1.25,0.5,2.000,0.500,0.100,300.0`

function folder(text: string): string {
  const dir = tempDir()
  writeFileSync(join(dir, 'metrics.csv'), text)
  return dir
}

test('whole rows are read with their text; a last line without its newline is returned apart', () => {
  const {rows, lines, partial} = readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n${row(2)}\n3,1.1,0.`))
  assert.deepEqual(rows.map((r) => r.epoch), [1, 2])
  assert.equal(rows[1].test_accuracy, 0.5)
  assert.deepEqual(lines, [row(1), row(2)])
  assert.equal(partial, '3,1.1,0.')
  assert.deepEqual(readMetricsFile(tempDir()), {rows: [], lines: []}, 'no file: no rows')
})

test('damage is refused naming the file and line', () => {
  assert.throws(() => readMetricsFile(folder(`epoch,loss\n${row(1)}\n`)), /metrics\.csv is corrupt: line 1 is not the header/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n1,x,0.2\n`)), /metrics\.csv is corrupt: line 3 has 3 fields/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n${row(3)}\n`)), /line 3 is epoch 3 where epoch 2 belongs/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n${row(2).replace('0.25', 'NaN')}\n`)), /line 3 has 9 fields, not the 9 numbers/)
})

test('the one reader of metrics.csv: CRLF line ends read alike; a blank line or a stray quote inside is damage, with its line', () => {
  const crlf = readMetricsFile(folder(`${METRICS_HEADER}\r\n${row(1)}\r\n${row(2)}\r\n`))
  assert.deepEqual(crlf.lines, [row(1), row(2)])
  assert.equal(crlf.partial, undefined)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n\n${row(2)}\n`)), /metrics\.csv is corrupt: line 3 is empty/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n2,"1.5,0.25\n`)), /metrics\.csv is corrupt: line 3 has 3 fields/)
  assert.deepEqual(metricsCsvRows('a,b\r\n\r\n1,\n'), [{line: 1, cells: ['a', 'b']}, {line: 3, cells: ['1', '']}])
})
