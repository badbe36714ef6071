// What a problem echoes back is bounded and says how to write it right: a --set that goes into a
// list by `.1` is told to write [1]; a value, or a --set, megabytes long is cut, with its length.
import {test} from 'node:test'
import assert from 'node:assert/strict'
import {loadSpec} from '../../src/config/load.js'
import {clip, formatProblem, MAX_ECHO, SpecError} from '../../src/config/errors.js'
import {mixture, resolveObject, specProblems, writeSpec} from '../helpers.js'

const base = {name: 'x', data: {dataset: 'synthetic', image_size: 8}, model: {type: 'mixture', components: [{type: 'cnn', channels: [4, 3]}, {type: 'vit', patch_size: 2, dim: 16, depth: 1, heads: 2}]}}

test('a --set that names a list item with .1 is told to write [1]', () => {
  const file = writeSpec(base)
  let [p] = specProblems(() => loadSpec(file, ['model.components.1.dim=64']))
  assert.equal(p.path, 'model.components')
  assert.equal(p.message, 'is a list: write its item 1 as model.components[1], e.g. --set model.components[1].dim=…')
  ;[p] = specProblems(() => loadSpec(file, ['model.components.0={type: cnn, channels: [3]}']))
  assert.match(p.message, /write its item 0 as model\.components\[0\], e\.g\. --set model\.components\[0\]=…/)
  ;[p] = specProblems(() => loadSpec(file, ['model.components.first.dim=64']))
  assert.match(p.message, /^is a list, so it has no key "first"; write a list item as \[i\], e\.g\. model\.components\[0\]/)
})

test('an echoed value is cut to a few hundred characters, saying how long it is', () => {
  assert.equal(clip('short'), 'short')
  assert.equal(clip('x'.repeat(MAX_ECHO + 1)), `${'x'.repeat(MAX_ECHO)}… (${MAX_ECHO + 1} characters in all)`)
  const long = 'x'.repeat(100_000)
  for (const set of [`model.components[1].preset=${long}`, `name=${long}`, `name=${'a b '.repeat(30_000)}`, `model.type=${long}`, `data.dataset=${long}`, `label=[${long}`, `${long}=1`, long]) {
    let message = ''
    try {
      resolveObject(base, [set])
    } catch (error) {
      assert.ok(error instanceof SpecError, String(error))
      message = error.problems.map(formatProblem).join('\n')
    }
    assert.ok(message.length > 0 && message.length < 1500, `${set.slice(0, 30)}…: ${message.length} characters`)
    assert.match(message, /characters in all/)
  }
  const r = mixture(['validate', writeSpec(base), '--set', `model.components[1].preset=${long}`])
  assert.equal(r.code, 2)
  assert.ok(r.stderr.length < 1500, `${r.stderr.length} characters`)
  assert.match(r.stderr, /unknown preset "x+… \(100,000 characters in all\)" for vit: choose one of/)
})

test('a comma list given to run as a --set value is pointed at sweep, and a list of seeds at --seeds', () => {
  const file = writeSpec(base)
  const [lr] = specProblems(() => resolveObject(base, ['train.optimizer.lr=1e-3,1e-2']))
  assert.equal(lr.message, 'must be number (got "1e-3,1e-2"); to train one run per value, use mixture sweep with the same --set (a comma list is a sweep\'s axis)')
  const [seed] = specProblems(() => resolveObject(base, ['seed=1,2']))
  assert.match(seed.message, /^must be integer \(got "1,2"\); to train one run per seed, use --seeds 1,2$/)
  // Only where the value came from a --set: a comma in the file is a plain mistake.
  const [inFile] = specProblems(() => resolveObject({...base, seed: '1,2'}))
  assert.equal(inFile.message, 'must be integer (got "1,2")')
  const r = mixture(['run', file, '--set', 'train.optimizer.lr=1e-3,1e-2', '--dry-run'])
  assert.equal(r.code, 2, r.stderr)
  assert.match(r.stderr, /--set train\.optimizer\.lr=1e-3,1e-2: train\.optimizer\.lr: must be number .*use mixture sweep/)
})
