// A sweep file is checked like a spec: unknown keys (in its points too) with a did-you-mean, values
// of the wrong type, an empty point and a YAML slip in a flow mapping, each at its file:line.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {expandSweep} from '../../src/config/sweep.js'
import {mixture, specProblems, tempDir, writeSpec} from '../helpers.js'

const SPEC_YAML = 'name: tiny\ndata: {dataset: synthetic, image_size: 8}\nmodel: {type: mixture, components: [{type: cnn, channels: [3]}]}\n'

/** A sweep file beside a spec q.yaml. */
function sweepFile(text: string): string {
  const dir = tempDir()
  writeSpec(SPEC_YAML, dir, 'q.yaml')
  return writeSpec(text, dir, 'sweep.yaml')
}

test("a point's unknown keys and a label or title that is not text are refused at their line, with a did-you-mean", () => {
  const file = sweepFile('sweep:\n  name: silent\n  title: [not, a, string]\n  points:\n    - {spec: q.yaml, label: 7, lable: typo, extra: 1}\n')
  const problems = specProblems(() => expandSweep(file, []))
  const by = (path: string) => problems.find((p) => p.path === path)
  assert.equal(problems.length, 4, JSON.stringify(problems))
  assert.match(by('sweep.title')!.message, /must be a string/)
  assert.equal(by('sweep.title')!.origin?.line, 3)
  assert.match(by('sweep.points[0].label')!.message, /must be a string/)
  assert.match(by('sweep.points[0].lable')!.message, /^unknown key, did you mean label\?/)
  assert.deepEqual([by('sweep.points[0].lable')!.origin?.line, by('sweep.points[0].lable')!.origin?.col], [5, 32])
  assert.match(by('sweep.points[0].extra')!.message, /^unknown key; allowed here: spec, label, set/)
  const r = mixture(['sweep', '-n', file])
  assert.equal(r.code, 2, r.stderr)
})

test('an unknown key of the sweep: block gets a did-you-mean too', () => {
  const [p] = specProblems(() => expandSweep(sweepFile('sweep:\n  name: s\n  titel: T\n  points: [q.yaml]\n'), []))
  assert.equal(p.path, 'sweep.titel')
  assert.match(p.message, /^unknown key, did you mean title\?/)
})

test('a point that is an empty name is said to be empty', () => {
  const [p] = specProblems(() => expandSweep(sweepFile('sweep:\n  name: s\n  points: [""]\n'), []))
  assert.equal(p.path, 'sweep.points[0]')
  assert.match(p.message, /^is an empty name; give a spec file/)
})

test('a key with [i] in a flow mapping is a YAML error once, with how to write it', () => {
  for (const set of ['{model.components[1].dim: 3}', '{train.epochs: 2, model.components[1].dim: 3}']) {
    const problems = specProblems(() => expandSweep(sweepFile(`sweep:\n  name: s\n  points: [q.yaml]\n  set: ${set}\n`), []))
    assert.equal(problems.length, 1, JSON.stringify(problems))
    assert.equal(problems[0].origin?.line, 4)
    assert.match(problems[0].message, /^YAML syntax error: .*flow map.*must be quoted \(\{'model\.components\[1\]\.dim': 3\}\), or written in block style/)
  }
  // Quoted, it is read as the key it is.
  const plan = expandSweep(sweepFile("sweep:\n  name: s\n  points: [q.yaml]\n  set: {'model.components[0].channels': [4]}\n"), [])
  assert.deepEqual(plan.points[0].overrides, ['model.components[0].channels=[ 4 ]'])
  // A flow-mapping error without [ in the key gets no such hint.
  const [p] = specProblems(() => expandSweep(sweepFile('sweep:\n  name: s\n  points: [q.yaml]\n  set: {a b c: 1 d: 2}\n'), []))
  assert.doesNotMatch(p.message, /must be quoted/)
})
