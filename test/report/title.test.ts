import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {makeTable} from '../../src/report/index.js'
import {makeReport} from '../../src/report/make-report.js'
import {listNames} from '../../src/report/title.js'
import {SWEEP_FIXTURE, tempDir, writeIndex, writeRun} from './helpers.js'

/** The page's heading and its <title>, which must agree. */
function headingOf(file: string): string {
  const html = readFileSync(file, 'utf8')
  const heading = /<h1>(.*?)<\/h1>/.exec(html)?.[1]
  assert.equal(/<title>(.*?)<\/title>/.exec(html)?.[1], heading)
  return heading ?? ''
}

describe('titles of tables and reports', () => {
  it('lists a few names, then says how many more', () => {
    assert.equal(listNames(['a']), 'a')
    assert.equal(listNames(['a', 'b', 'a']), 'a, b')
    assert.equal(listNames(['a', 'b', 'c']), 'a, b, c')
    assert.equal(listNames(['a', 'b', 'c', 'd', 'e']), 'a, b, c and 2 more')
  })

  it("heads table.md with the sweep's title (index.json `title`), and with none where an input has none", async (t) => {
    const out = tempDir(t)
    const titled = await makeTable({paths: [SWEEP_FIXTURE], out, format: 'md', plot: false})
    assert.match(titled.markdown, /^# CIFAR-10 Results Table\n\n\| Model +\| +Top-1 Test Accuracy \|/)
    assert.equal(readFileSync(join(out, 'table.md'), 'utf8'), titled.markdown)

    const dir = tempDir(t)
    writeRun(join(dir, 'sweep', 'p'), {name: 'p', label: 'P <b>', test: [0.5]})
    writeIndex(join(dir, 'sweep'), {name: 'x', title: 'Depth <study> & more', points: [{key: 'p', label: 'P <b>', status: 'completed', run_dir: 'p'}]})
    const escaped = await makeTable({paths: [join(dir, 'sweep')], out: join(dir, 'out'), format: 'md', plot: false})
    assert.match(escaped.markdown, /^# Depth \\<study> & more\n\n/, 'shown as written, not read as HTML')
    writeRun(join(dir, 'run'), {name: 'r', label: 'R', test: [0.4]})
    const mixed = await makeTable({paths: [join(dir, 'sweep'), join(dir, 'run')], out: join(dir, 'out'), format: 'md', plot: false})
    assert.match(mixed.markdown, /^\| Model /, 'a run folder has no title: the table has none rather than one that names part of it')
  })

  it("heads the report with the sweep's title, and a report of several inputs with each one's title or folder name", async (t) => {
    const dir = tempDir(t)
    assert.equal(headingOf((await makeReport({paths: [SWEEP_FIXTURE], out: join(dir, 'one.html')})).file), 'CIFAR-10 Results Table')
    const runs = ['a', 'b', 'c', 'd', 'e'].map((name) => writeRun(join(dir, name), {name, label: name.toUpperCase(), test: [0.5]}))
    assert.equal(headingOf((await makeReport({paths: [SWEEP_FIXTURE, runs[1]], out: join(dir, 'two.html')})).file), 'Results: CIFAR-10 Results Table, b')
    assert.equal(headingOf((await makeReport({paths: runs, out: join(dir, 'five.html')})).file), 'Results: a, b, c and 2 more')
  })
})
