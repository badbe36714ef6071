import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {afterEach, describe, it} from 'node:test'

import Table, {TableCommandResult} from '../../src/commands/table.js'
import {ROOT, SWEEP_FIXTURE, tempDir} from './helpers.js'

/** The command with its printed output kept in memory (the test runner reports on stdout). */
class QuietTable extends Table {
  static printed = ''
  protected print(text: string): void {
    QuietTable.printed += text
  }
}

describe('mixture table (in process)', () => {
  afterEach(() => {
    process.exitCode = undefined
  })

  it('prints the Markdown table and returns rows and files', async (t) => {
    const out = tempDir(t)
    QuietTable.printed = ''
    const value = (await QuietTable.run([SWEEP_FIXTURE, '--out', out, '--no-plot'], ROOT)) as unknown as TableCommandResult
    const stdout = QuietTable.printed
    assert.match(stdout, /^# CIFAR-10 Results Table\n\n\| Model +\| +Top-1 Test Accuracy \| Total Training Time \(Minutes\) \| Number of Parameters \|\n/, 'headed by the sweep\'s title')
    assert.match(stdout, /0\.5000 \(incomplete: 2\/3 epochs, failed\)/)
    assert.equal(value.rows.length, 4)
    assert.equal(value.files.table_csv, join(out, 'table.csv'))
    assert.equal(value.files.curves_svg, undefined)
  })

  it('exits 2 when no summary.json is found', async (t) => {
    const dir = tempDir(t)
    QuietTable.printed = ''
    mkdirSync(join(dir, 'nothing'))
    // BaseCommand reports the error on stderr and sets the exit code instead of throwing.
    const value = await QuietTable.run([dir], ROOT)
    assert.equal(value, undefined)
    assert.equal(process.exitCode, 2)
    assert.equal(QuietTable.printed, '')
  })
})

describe('mixture table (spawned)', {skip: !existsSync(join(ROOT, 'bin/run.js')) && 'bin/run.js does not exist yet'}, () => {
  it('leaves exactly one JSON document on stdout with --json', (t) => {
    const out = tempDir(t)
    const child = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'table', SWEEP_FIXTURE, '--out', out, '--no-plot', '--json'], {
      encoding: 'utf8',
      env: {...process.env, NO_COLOR: '1'},
    })
    assert.equal(child.status, 0, child.stderr)
    const doc = JSON.parse(child.stdout) as {rows: unknown[]; files: Record<string, string>}
    assert.equal(doc.rows.length, 4)
    assert.equal(doc.files.table_md, join(out, 'table.md'))
  })

  it('exits 2 for a folder without runs', (t) => {
    const dir = tempDir(t)
    const child = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'table', dir], {encoding: 'utf8'})
    assert.equal(child.status, 2)
    assert.match(child.stderr, /No summary\.json found/)
    const json = spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'table', dir, '--json'], {encoding: 'utf8'})
    assert.equal(json.status, 2)
    assert.match((JSON.parse(json.stdout) as {error: {message: string}}).error.message, /No summary\.json found/)
  })
})
