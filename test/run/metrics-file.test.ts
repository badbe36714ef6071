// metrics.csv read back for a resume: rows checked, a row cut short by a crash kept apart, damage refused with its line,
// files from before the lr column, the validation columns and the trained weights' columns read in the current layout.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {METRICS_HEADER, metricsCsvRows, readMetricsFile} from '../../src/run/metrics-file.js'
import {tempDir} from '../helpers.js'

/** A row of a run without a validation split or train.ema (blank val and raw_test columns), one with a validation split, one with train.ema. */
const row = (epoch: number) => `${epoch},1.5,0.25,1.25,0.5,2.000,0.500,0.100,300.0,0.001,,,,`
const valRow = (epoch: number) => `${epoch},1.5,0.25,1.25,0.5,2.000,0.500,0.100,300.0,0.001,1.375,0.4375,,`
const emaRow = (epoch: number) => `${epoch},1.5,0.25,1.25,0.5,2.000,0.500,0.100,300.0,0.001,,,1.5,0.375`

/** The header of an earlier layout (its first `columns` columns), and a row cut to it. */
const headerOf = (columns: number) => METRICS_HEADER.split(',').slice(0, columns).join(',')
const cut = (text: string, columns: number) => text.split(',').slice(0, columns).join(',')

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
  assert.deepEqual(readMetricsFile(tempDir()), {rows: [], lines: [], missing: true}, 'no file: no rows, and it says so')
})

test('damage is refused naming the file and line', () => {
  assert.throws(() => readMetricsFile(folder(`epoch,loss\n${row(1)}\n`)), /metrics\.csv is corrupt: line 1 is not the header/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n1,x,0.2\n`)), /metrics\.csv is corrupt: line 3 has 3 fields, not the 14 of the header/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n${row(3)}\n`)), /line 3 is epoch 3 where epoch 2 belongs/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n${row(2).replace('0.25', 'abc')}\n`)), /line 3 has "abc" in column train_accuracy, which is not a number/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n${row(2).replace('0.25', '')}\n`)), /line 3 has no value in column train_accuracy/)
})

test('a file written before the lr column is read in the current layout, its lr and validation columns blank', () => {
  const before = headerOf(9)
  const old = (epoch: number) => cut(row(epoch), 9)
  const {rows, lines, partial, converted} = readMetricsFile(folder(`${before}\n${old(1)}\n${old(2)}\n3,1.1`))
  assert.equal(converted, true)
  assert.deepEqual(lines, [`${old(1)},,,,,`, `${old(2)},,,,,`])
  assert.ok(Number.isNaN(rows[1].lr))
  assert.ok(Number.isNaN(rows[1].val_accuracy))
  assert.equal(rows[1].images_per_second, 300)
  assert.equal(partial, '3,1.1', 'a row cut short is set aside as it was')
  // In the current layout a blank lr is accepted (converted rows); any other blank field is damage.
  assert.equal(readMetricsFile(folder(`${METRICS_HEADER}\n${old(1)},,,,,\n${row(2)}\n`)).rows[1].lr, 0.001)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1).replace('1.25', '')}\n`)), /line 2 has no value in column test_loss/)
  assert.equal(readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n`)).converted, undefined)
})

test('a file written before the validation columns is read in the current layout; rows with a validation split keep their values', () => {
  const before = headerOf(10)
  const old = (epoch: number) => cut(row(epoch), 10)
  const {rows, lines, converted} = readMetricsFile(folder(`${before}\n${old(1)}\n${old(2)}\n`))
  assert.equal(converted, true)
  assert.deepEqual(lines, [row(1), row(2)], 'written back as a run without a validation split writes them')
  assert.equal(rows[1].lr, 0.001)
  assert.ok(Number.isNaN(rows[1].val_loss) && Number.isNaN(rows[1].val_accuracy))
  assert.throws(() => readMetricsFile(folder(`${before}\n${old(1)}\n${row(2)}\n`)), /line 3 has 14 fields, not the 10 of the header/)
  const val = readMetricsFile(folder(`${METRICS_HEADER}\n${valRow(1)}\n${valRow(2)}\n`))
  assert.equal(val.converted, undefined)
  assert.deepEqual([val.rows[1].val_loss, val.rows[1].val_accuracy], [1.375, 0.4375])
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${valRow(1).replace('0.4375', 'x')}\n`)), /line 2 has "x" in column val_accuracy, which is not a number/)
})

test("a file written before the trained weights' test columns is read in the current layout; rows of a train.ema run keep their values", () => {
  const {rows, lines, converted} = readMetricsFile(folder(`${headerOf(12)}\n${cut(valRow(1), 12)}\n`))
  assert.equal(converted, true)
  assert.deepEqual(lines, [valRow(1)])
  assert.ok(Number.isNaN(rows[0].raw_test_loss) && Number.isNaN(rows[0].raw_test_accuracy))
  const ema = readMetricsFile(folder(`${METRICS_HEADER}\n${emaRow(1)}\n`))
  assert.equal(ema.converted, undefined)
  assert.deepEqual([ema.rows[0].raw_test_loss, ema.rows[0].raw_test_accuracy], [1.5, 0.375])
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${emaRow(1).replace('0.375', 'x')}\n`)), /line 2 has "x" in column raw_test_accuracy, which is not a number/)
})

test('the one reader of metrics.csv: CRLF line ends read alike; a blank line or a stray quote inside is damage, with its line', () => {
  const crlf = readMetricsFile(folder(`${METRICS_HEADER}\r\n${row(1)}\r\n${row(2)}\r\n`))
  assert.deepEqual(crlf.lines, [row(1), row(2)])
  assert.equal(crlf.partial, undefined)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n\n${row(2)}\n`)), /metrics\.csv is corrupt: line 3 is empty/)
  assert.throws(() => readMetricsFile(folder(`${METRICS_HEADER}\n${row(1)}\n2,"1.5,0.25\n`)), /metrics\.csv is corrupt: line 3 has 3 fields/)
  assert.deepEqual(metricsCsvRows('a,b\r\n\r\n1,\n'), [{line: 1, cells: ['a', 'b']}, {line: 3, cells: ['1', '']}])
})
