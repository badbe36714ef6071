import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {cpSync, mkdirSync, readFileSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'

import {confusionSpec, matrixAccuracy, parseConfusionCsv, readConfusionMatrices} from '../../src/report/confusion.js'
import {makeReport} from '../../src/report/make-report.js'
import {ROOT, SWEEP_FIXTURE, tempDir, writeRun} from './helpers.js'

const FIXTURE = join(ROOT, 'test/fixtures/eval/test-best/confusion.csv')

describe('confusion.csv', () => {
  it('reads the square layout: header of class names, one line per true class', () => {
    const {classes, counts} = parseConfusionCsv(readFileSync(FIXTURE, 'utf8'))
    assert.equal(classes.length, 10)
    assert.equal(classes[0], 'T-shirt/top')
    assert.deepEqual(counts[1].slice(0, 3), [14, 950, 12])
    assert.deepEqual(matrixAccuracy(counts), {accuracy: 0.877, examples: 10000})
    const spec = confusionSpec({name: 'test-best', file: FIXTURE, classes, counts}) as {data: {values: {share: number}[]}; width: number}
    assert.equal(spec.data.values.length, 100)
    assert.equal(spec.width, 360)
    assert.equal(spec.data.values[0].share, 0.84)
  })

  it('takes quoted class names and says what is wrong with a bad file', () => {
    assert.deepEqual(parseConfusionCsv('true\\predicted,"cat, small",dog\n"cat, small",3,1\ndog,0,4\n').classes, ['cat, small', 'dog'])
    assert.throws(() => parseConfusionCsv('x,a,b\na,1,2\n'), /names 2 classes but there are 1 class lines/)
    assert.throws(() => parseConfusionCsv('x,a,b\na,1,2\nc,3,4\n'), /line 3 is for "c" where the header's class 1 is "b"/)
    assert.throws(() => parseConfusionCsv('x,a,b\na,1,-2\nb,3,4\n'), /line 2, column 3: "-2" is not a count/)
  })

  it('leaves a bad file out of the report with a warning', (t) => {
    const run = tempDir(t)
    mkdirSync(join(run, 'eval', 'test-last'), {recursive: true})
    writeFileSync(join(run, 'eval', 'test-last', 'confusion.csv'), 'x,a\n')
    cpSync(join(ROOT, 'test/fixtures/eval/test-best'), join(run, 'eval', 'test-best'), {recursive: true})
    const warnings: string[] = []
    const matrices = readConfusionMatrices(run, (m) => warnings.push(m))
    assert.deepEqual(
      matrices.map((m) => m.name),
      ['test-best'],
    )
    assert.match(warnings[0], /test-last\/confusion\.csv is left out of the report: it needs a header line/)
  })

  it('reads an evaluation that a killed eval left set aside, and not one it was still writing', (t) => {
    const run = tempDir(t)
    // test-best set aside for the swap and the process killed before the new one was renamed in; val-best being written.
    cpSync(join(ROOT, 'test/fixtures/eval/test-best'), join(run, 'eval', `.test-best.old-${2 ** 22 + 7}@elsewhere-0`), {recursive: true})
    cpSync(join(ROOT, 'test/fixtures/eval/test-best'), join(run, 'eval', `.val-best.tmp-${2 ** 22 + 7}@elsewhere-1`), {recursive: true})
    const matrices = readConfusionMatrices(run, () => {})
    assert.deepEqual(matrices.map((m) => m.name), ['test-best'])
    assert.match(matrices[0].file, /\.test-best\.old-/)
  })
})

describe('makeReport', () => {
  it('writes one self-contained page: no external resources, the three chart libraries inlined', async (t) => {
    const dir = tempDir(t)
    const result = await makeReport({paths: [SWEEP_FIXTURE], out: dir})
    assert.equal(result.file, join(dir, 'report.html'))
    const html = readFileSync(result.file, 'utf8')
    // The markup outside the inlined scripts loads nothing.
    const markup = html.replace(/<script>[\s\S]*?<\/script>/g, '<script></script>')
    assert.ok(!/<(script|img|iframe)[^>]+src=|<link[^>]+href=/i.test(markup), 'no external resources')
    for (const name of ['vega', 'vega-lite', 'vega-embed']) assert.match(html, new RegExp(`<script>/\\* ${name} \\d+\\.\\d+\\.\\d+ \\*/`))
    assert.equal(result.charts, 2)
    assert.deepEqual(result.sections, [{title: 'CIFAR-10', rows: 4}])
    assert.match(html, /<td>1 Block Joint MM \(Conv \+ ViT\)<span class="runs-of-row"><a href="#run-3">seed 42<\/a><\/span><\/td><td class="num">0\.5000 \(incomplete: 2\/3 epochs, failed\)<\/td>/)
  })

  it("says which checkpoint and epoch a confusion matrix counts, and when that checkpoint was written again since", async (t) => {
    const dir = tempDir(t)
    const run = writeRun(join(dir, 'run'), {name: 'x', label: 'X', test: [0.5, 0.6]})
    for (const name of ['test-best', 'test-last']) {
      cpSync(join(ROOT, 'test/fixtures/eval/test-best'), join(run, 'eval', name), {recursive: true})
      writeFileSync(join(run, 'eval', name, 'metrics.json'), JSON.stringify({checkpoint: name.slice(5), epoch: 2}))
    }
    const past = new Date(Date.now() - 60_000)
    writeFileSync(join(run, 'best.ckpt'), 'x')
    utimesSync(join(run, 'best.ckpt'), past, past)
    writeFileSync(join(run, 'last.ckpt'), 'x') // written after the evaluation: the run trained on
    utimesSync(join(run, 'eval', 'test-last', 'confusion.csv'), past, past)
    const html = readFileSync((await makeReport({paths: [dir]})).file, 'utf8')
    assert.match(html, /From eval\/test-best\/confusion\.csv \(best\.ckpt of epoch 2\)\.[^<]*<\/p><div/)
    assert.match(html, /From eval\/test-last\/confusion\.csv \(last\.ckpt of epoch 2\)\.[^<]*<\/p><p class="note"><strong>Out of date:<\/strong> last\.ckpt was written again after this evaluation, so it is not the checkpoint this matrix counts; run mixture eval .* --ckpt last --split test to renew it\.<\/p>/)
  })

  it('past 100 classes: no heatmap but the lowest per-class accuracies and the most frequent confusions, and the page stays small', async (t) => {
    const dir = tempDir(t)
    const run = writeRun(join(dir, 'run'), {name: 'x', label: 'X', test: [0.5]})
    const bare = await makeReport({paths: [dir], out: join(dir, 'bare.html')})
    // 2,000 classes as mixture eval writes them past 256 (per-class.csv and the nonzero cells), 4 examples each, all right but
    // class 1234's (all predicted as class 7) and class 42's (3 predicted as class 8).
    const k = 2000
    const name = (i: number) => `class ${i}`
    const correct = (i: number) => (i === 1234 ? 0 : i === 42 ? 1 : 4)
    mkdirSync(join(run, 'eval', 'test-best'), {recursive: true})
    writeFileSync(
      join(run, 'eval', 'test-best', 'per-class.csv'),
      ['class,index,examples,correct,accuracy', ...Array.from({length: k}, (_, i) => `${name(i)},${i},4,${correct(i)},${correct(i) / 4}`)].join('\n') + '\n',
    )
    const pairs = Array.from({length: k}, (_, i) => [
      ...(correct(i) > 0 ? [`${name(i)},${name(i)},${correct(i)}`] : []),
      ...(i === 42 ? [`${name(42)},${name(8)},3`] : i === 1234 ? [`${name(1234)},${name(7)},4`] : []),
    ]).flat()
    writeFileSync(join(run, 'eval', 'test-best', 'confusion-pairs.csv'), ['true,predicted,count', ...pairs].join('\n') + '\n')
    // A square matrix of 400 classes, as evaluations wrote them before there were limits: class 3's example predicted as class 5.
    mkdirSync(join(run, 'eval', 'test-last'), {recursive: true})
    const square = Array.from({length: 400}, (_, i) => Array.from({length: 400}, (__, j) => ((i === 3 ? j === 5 : i === j) ? 1 : 0)))
    writeFileSync(join(run, 'eval', 'test-last', 'confusion.csv'), [['true\\predicted', ...Array.from({length: 400}, (_, i) => name(i))].join(','), ...square.map((row, i) => [name(i), ...row].join(','))].join('\n') + '\n')

    const result = await makeReport({paths: [dir], out: join(dir, 'report.html')})
    const html = readFileSync(result.file, 'utf8')
    assert.ok(html.length - readFileSync(bare.file, 'utf8').length < 30_000, `the two confusion sections are ${html.length - readFileSync(bare.file, 'utf8').length} characters`)
    assert.equal(result.charts, bare.charts, 'no heatmap')
    assert.deepEqual(result.warnings, [])
    assert.match(html, /From eval\/test-best\/confusion-pairs\.csv\. Accuracy from the matrix: 0\.9991 over 8000 examples\.<\/p><p class="note">No heatmap: 2,000 classes, more than the 100 a heatmap shows legibly; eval\/test-best\/confusion-pairs\.csv has every count\. Below: the 10 classes of lowest accuracy and the 2 most frequent confusions\.<\/p>/)
    assert.ok(
      html.includes(
        '<tbody><tr><td>class 1234</td><td class="num">4</td><td class="num">0</td><td class="num">0.0000</td></tr><tr><td>class 42</td><td class="num">4</td><td class="num">1</td><td class="num">0.2500</td></tr><tr><td>class 0</td><td class="num">4</td><td class="num">4</td><td class="num">1.0000</td></tr>',
      ),
    )
    assert.ok(html.includes('<tbody><tr><td>class 1234</td><td>class 7</td><td class="num">4</td><td class="num">100.0%</td></tr><tr><td>class 42</td><td>class 8</td><td class="num">3</td><td class="num">75.0%</td></tr></tbody>'))
    assert.match(html, /No heatmap: 400 classes, more than the 100 a heatmap shows legibly; eval\/test-last\/confusion\.csv has every count\. Below: the 10 classes of lowest accuracy and the 1 most frequent confusions\./)
    assert.ok(html.includes('<tbody><tr><td>class 3</td><td>class 5</td><td class="num">1</td><td class="num">100.0%</td></tr></tbody>'))
  })

  it('escapes what it shows from the run folders', async (t) => {
    const dir = tempDir(t)
    writeRun(join(dir, 'run'), {name: 'x', label: '<b>A & B</b>', test: [0.5]})
    const {file} = await makeReport({paths: [dir]})
    const html = readFileSync(file, 'utf8')
    assert.ok(html.includes('&lt;b&gt;A &amp; B&lt;/b&gt;'))
    assert.ok(!html.includes('<b>A & B</b>'))
  })
})

describe('mixture report (spawned)', () => {
  const mixture = (args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/run.js'), 'report', ...args], {encoding: 'utf8', env: {...process.env, NO_COLOR: '1'}})

  it('prints one JSON document with --json', (t) => {
    const out = join(tempDir(t), 'r.html')
    const child = mixture([SWEEP_FIXTURE, '--out', out, '--json'])
    assert.equal(child.status, 0, child.stderr)
    const doc = JSON.parse(child.stdout) as {file: string; runs: number; sections: unknown[]}
    assert.equal(doc.file, out)
    assert.equal(doc.runs, 3)
  })

  it('exits 2 for a folder that does not exist or holds no runs, writing nothing', (t) => {
    const dir = tempDir(t)
    const missing = mixture([join(dir, 'nope')])
    assert.equal(missing.status, 2)
    assert.match(missing.stderr, /nope does not exist\. Pass run folders/)
    const empty = mixture([dir])
    assert.equal(empty.status, 2)
    assert.match(empty.stderr, /No summary\.json found/)
    assert.equal(spawnSync('ls', ['-A', dir], {encoding: 'utf8'}).stdout, '')
  })
})
